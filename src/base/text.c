/*
 * text.c - see text.h.
 */
#include "base/text.h"

#include <string.h>

#include "base/banned.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;   /* overlong, or a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;   /* overlong, or past U+10FFFF */
		return 4;
	}
	return 0;
}

size_t sr_text_clean(char *s, size_t max)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, keep = 0;

	while (p[i]) {
		size_t n = utf8_len(p + i);   /* stops at the NUL: it is not a continuation byte */

		if (n == 0) {
			p[i] = '?';
			n = 1;
		} else if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
			p[i] = '?';
		}
		if (i + n > max)
			break;
		i += n;
		keep = i;
	}
	p[keep] = '\0';
	return keep;
}

const char *sr_text_shown(const char *s, size_t len, size_t max, char *out)
{
	size_t n = len > max ? max : len;

	if (n < len)
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}
