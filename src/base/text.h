/*
 * text.h - making untrusted text safe to show and to store: valid UTF-8,
 * no control characters (they could rewrite a terminal), bounded length.
 */
#ifndef SR_TEXT_H
#define SR_TEXT_H

#include <stddef.h>

/*
 * Clean the NUL-terminated s in place: every byte that is not part of a
 * valid UTF-8 sequence, and every control character (C0, DEL; tab and
 * newline included), becomes '?'; then s is cut to at most max bytes
 * without splitting a character.  Returns the new length.
 */
size_t sr_text_clean(char *s, size_t max);

/*
 * Untrusted text for a message: s[0..len) cut to at most max bytes (at a
 * UTF-8 boundary, then "..."), control bytes as '?'.  out has room for
 * max + 4 bytes; returns out.
 */
const char *sr_text_shown(const char *s, size_t len, size_t max, char *out);

#endif
