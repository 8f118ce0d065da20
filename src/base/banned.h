/*
 * banned.h - functions that must not be used in sealroom (after git's
 * banned.h).  Include it last in every .c file of the project.
 */
#ifndef SR_BANNED_H
#define SR_BANNED_H

#define SR_BANNED(func) sorry_##func##_is_banned_in_sealroom

#undef strcpy
#define strcpy(x, y) SR_BANNED(strcpy)
#undef strcat
#define strcat(x, y) SR_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) SR_BANNED(strncpy)
#undef sprintf
#define sprintf(...) SR_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) SR_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) SR_BANNED(strtok)
#undef atoi
#define atoi(x) SR_BANNED(atoi)
#undef atol
#define atol(x) SR_BANNED(atol)
#undef gets
#define gets(x) SR_BANNED(gets)
#undef rand
#define rand() SR_BANNED(rand)
#undef srand
#define srand(x) SR_BANNED(srand)
#undef gmtime
#define gmtime(x) SR_BANNED(gmtime)
#undef localtime
#define localtime(x) SR_BANNED(localtime)
#undef mktemp
#define mktemp(x) SR_BANNED(mktemp)
#undef tmpnam
#define tmpnam(x) SR_BANNED(tmpnam)

#endif
