/*
 * cli-table.c: aligned tables and human units for the client's default
 * output. Widths count UTF-8 characters, so names and commands with accents
 * line up; control bytes from the server are shown as '?', never sent to
 * the terminal.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "util.h"

struct cli_table {
	size_t		  ncols;
	char		**headers;
	enum cli_align	 *align;
	size_t		 *limit;	/* 0: none */
	char		**cells;	/* rows * ncols */
	size_t		  nrows;
};

struct cli_table *
cli_table_new(size_t ncols, const char *const *headers)
{
	struct cli_table	*t;
	size_t			 i;

	t = xcalloc(1, sizeof(*t));
	t->ncols = ncols;
	t->headers = xcalloc(ncols, sizeof(char *));
	t->align = xcalloc(ncols, sizeof(enum cli_align));
	t->limit = xcalloc(ncols, sizeof(size_t));
	for (i = 0; i < ncols; i++)
		t->headers[i] = xstrdup(headers[i]);
	return t;
}

void
cli_table_align(struct cli_table *t, size_t col, enum cli_align a)
{

	if (col < t->ncols)
		t->align[col] = a;
}

void
cli_table_limit(struct cli_table *t, size_t col, size_t width)
{

	if (col < t->ncols)
		t->limit[col] = width < 4 ? 4 : width;
}

/* Length in bytes of the UTF-8 sequence starting at p, 1 when invalid. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t	 n, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
		n = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 1;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Number of characters of s (see cli.h). */
size_t
cli_text_width(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 w = 0;

	while (*p != '\0') {
		p += utf8_len(p);
		w++;
	}
	return w;
}

/*
 * A printable copy of s: control bytes and invalid UTF-8 as '?', at most
 * limit characters (0: any), the last three of a cut cell being "...".
 */
static char *
printable(const char *s, size_t limit)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*out, *o;
	size_t			 w = 0, n, keep;

	keep = limit > 0 && cli_text_width(s) > limit ? limit - 3 : (size_t)-1;
	o = out = xmalloc(strlen(s) + 4);
	while (*p != '\0' && w < keep) {
		n = utf8_len(p);
		if (n == 1 && (*p < 0x20 || *p >= 0x7f))
			*o++ = '?';
		else {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		w++;
	}
	if (*p != '\0') {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return out;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
	size_t	 i;

	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols *
	    sizeof(char *));
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = printable(cells[i] == NULL ?
		    "-" : cells[i], t->limit[i]);
	t->nrows++;
}

size_t
cli_table_rows(const struct cli_table *t)
{

	return t->nrows;
}

/* Append s to the growing buffer *b of length *len. */
static void
put(char **b, size_t *len, const char *s, size_t n)
{

	*b = xrealloc(*b, *len + n + 1);
	memcpy(*b + *len, s, n);
	*len += n;
	(*b)[*len] = '\0';
}

/* Append n blanks. */
static void
pad(char **b, size_t *len, size_t n)
{

	while (n-- > 0)
		put(b, len, " ", 1);
}

/* Append one line: the cells of row (NULL: the headers). */
static void
render_row(const struct cli_table *t, const size_t *width, char **cells,
    char **b, size_t *len)
{
	size_t	 i, w, last;

	/* The last column with text: no trailing blanks after it. */
	for (last = t->ncols; last > 0 && cells[last - 1][0] == '\0'; last--)
		continue;
	for (i = 0; i < last; i++) {
		w = cli_text_width(cells[i]);
		if (i > 0)
			put(b, len, "  ", 2);
		if (t->align[i] == CLI_RIGHT)
			pad(b, len, width[i] - w);
		put(b, len, cells[i], strlen(cells[i]));
		if (t->align[i] == CLI_LEFT && i + 1 < last)
			pad(b, len, width[i] - w);
	}
	put(b, len, "\n", 1);
}

/* The table as text (see cli.h). Caller frees. */
char *
cli_table_render(const struct cli_table *t)
{
	size_t	*width, i, r, w, len = 0;
	char	*b = xstrdup(""), **hdr;

	width = xcalloc(t->ncols, sizeof(size_t));
	hdr = xcalloc(t->ncols, sizeof(char *));
	for (i = 0; i < t->ncols; i++) {
		hdr[i] = printable(t->headers[i], 0);
		width[i] = cli_text_width(hdr[i]);
	}
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			w = cli_text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	render_row(t, width, hdr, &b, &len);
	for (r = 0; r < t->nrows; r++)
		render_row(t, width, t->cells + r * t->ncols, &b, &len);
	for (i = 0; i < t->ncols; i++)
		free(hdr[i]);
	free(hdr);
	free(width);
	return b;
}

void
cli_table_print(const struct cli_table *t, FILE *f)
{
	char	*s;

	s = cli_table_render(t);
	fputs(s, f);
	free(s);
}

void
cli_table_free(struct cli_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	for (i = 0; i < t->ncols; i++)
		free(t->headers[i]);
	free(t->cells);
	free(t->headers);
	free(t->align);
	free(t->limit);
	free(t);
}

/* Sizes for humans, binary units (see cli.h). */
void
cli_human_bytes(uint64_t n, char out[32])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double	 v = (double)n;
	size_t	 u = 0;

	if (n < 1024) {
		snprintf(out, 32, "%llu B", (unsigned long long)n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < NITEMS(units)) {
		v /= 1024;
		u++;
	}
	snprintf(out, 32, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* Durations for humans (see cli.h). */
void
cli_human_ms(double ms, char out[32])
{
	unsigned long long	 s;

	if (!isfinite(ms) || ms < 0)
		ms = 0;
	if (ms < 1000) {
		snprintf(out, 32, "%.0fms", ms);
		return;
	}
	if (ms < 60000) {
		snprintf(out, 32, "%.1fs", ms / 1000);
		return;
	}
	s = (unsigned long long)(ms / 1000);
	if (s < 3600)
		snprintf(out, 32, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(out, 32, "%lluh%02llum", s / 3600, s % 3600 / 60);
}

/* A JSON value as compact text, "-" for none (see cli.h). */
char *
cli_json_text(const cJSON *v)
{
	char	*s, *ret;

	if (v == NULL || cJSON_IsNull(v))
		return xstrdup("-");
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring != NULL ? v->valuestring : "");
	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		return xstrdup("?");
	ret = xstrdup(s);
	cJSON_free(s);
	return ret;
}

const char *
cli_jstr(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
cli_jnum(const cJSON *o, const char *key, double def)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}
