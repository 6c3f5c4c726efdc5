/* text.h - small in-place helpers for the line-oriented text inputs (configuration, prefix
 * lists, imported archives). */
#ifndef BS_CORE_TEXT_H
#define BS_CORE_TEXT_H

/* Strips leading and trailing white space: writes a NUL over the trailing part of s and
 * returns a pointer into s past the leading part. */
char *text_trim(char *s);

#endif
