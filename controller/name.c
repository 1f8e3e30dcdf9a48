/* SPDX-License-Identifier: Apache-2.0 */
/* Entity names (see name.h): OpenWhisk's name rule and fully qualified
 * names. Below both the router and the document builders. */
#include "controller/name.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_word(unsigned char c)
{
	/* Java's \w without UNICODE_CHARACTER_CLASS: ASCII only. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* \A([\w]|[\w][\w@ .-]*[\w@.-]+)\z over (s, len): the first char is \w,
 * the rest are [\w@ .-] and the last one is not a space. Length-based so a
 * decoded NUL is just another illegal byte. */
bool name_is_valid_n(const char *s, size_t len)
{
	if (len == 0 || len > NAME_SIZE - 1 || !is_word((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_word(c) && c != '@' && c != ' ' && c != '.' && c != '-')
			return false;
	}
	return s[len - 1] != ' ';
}

bool name_is_valid(const char *name)
{
	if (!name)
		return false;
	/* strnlen: a longer string is invalid whatever follows. */
	return name_is_valid_n(name, strnlen(name, NAME_SIZE));
}

int name_fqn_parse(const char *s, const char *default_ns, struct name_fqn *out)
{
	struct name_fqn f = { 0 };
	char parts[3][NAME_SIZE];
	int n = 0;
	bool qualified = s && s[0] == '/';

	if (!s || !default_ns)
		return -EINVAL;
	if (qualified)
		s++;
	while (n < 3) {
		size_t len = strcspn(s, "/");

		if (len == 0 || len >= NAME_SIZE)
			return -EINVAL;
		memcpy(parts[n], s, len);
		parts[n][len] = '\0';
		n++;
		s += len;
		if (*s == '\0')
			break;
		s++;
	}
	if (*s != '\0')
		return -EINVAL;
	/* "/ns/name" and "/ns/pkg/name" name their namespace; "name" and
	 * "pkg/name" live in the default one. */
	if (qualified && n < 2)
		return -EINVAL;
	if (!qualified && n > 2)
		return -EINVAL;
	if (qualified) {
		snprintf(f.ns, sizeof(f.ns), "%s", strcmp(parts[0], "_") == 0 ? default_ns : parts[0]);
		if (n == 3)
			snprintf(f.pkg, sizeof(f.pkg), "%s", parts[1]);
		snprintf(f.name, sizeof(f.name), "%s", parts[n - 1]);
	} else {
		snprintf(f.ns, sizeof(f.ns), "%s", default_ns);
		if (n == 2)
			snprintf(f.pkg, sizeof(f.pkg), "%s", parts[0]);
		snprintf(f.name, sizeof(f.name), "%s", parts[n - 1]);
	}
	if (!name_is_valid(f.ns) || !name_is_valid(f.name) ||
	    (f.pkg[0] && !name_is_valid(f.pkg)))
		return -EINVAL;
	*out = f;
	return 0;
}

void name_fqn_format(const struct name_fqn *f, char *buf, size_t size)
{
	snprintf(buf, size, "/%s/%s%s%s", f->ns, f->pkg, f->pkg[0] ? "/" : "", f->name);
}
