/*
 * svg.c - a small SVG writer for evaluation plots (ml.h): line charts
 * (ROC, lift, gains) and horizontal bars (feature importance).  Output is
 * a standalone SVG 1.1 document a browser opens; every text is escaped.
 */
#include <math.h>
#include <string.h>

#include "ml/ml.h"
#include "base/banned.h"

#define W 640
#define H 480
#define LEFT 70
#define RIGHT 170
#define TOP 40
#define BOTTOM 60
#define TICKS 5

static const char *const colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
				      "#9467bd", "#8c564b" };

static int add_text(struct sr_buf *out, const char *s)
{
	int rc = SR_OK;

	for (; rc == SR_OK && s && *s; s++) {
		switch (*s) {
		case '<': rc = sr_buf_addstr(out, "&lt;"); break;
		case '>': rc = sr_buf_addstr(out, "&gt;"); break;
		case '&': rc = sr_buf_addstr(out, "&amp;"); break;
		case '"': rc = sr_buf_addstr(out, "&quot;"); break;
		case '\'': rc = sr_buf_addstr(out, "&apos;"); break;
		default:
			/* Control characters are not allowed in XML 1.0. */
			rc = sr_buf_addch(out, (unsigned char)*s < 0x20 ? ' ' : *s);
		}
	}
	return rc;
}

static int header(struct sr_buf *out, const char *title)
{
	int rc = sr_buf_addf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
		"<title>", W, H, W, H, W, H);
	if (rc == SR_OK)
		rc = add_text(out, title);
	if (rc == SR_OK)
		rc = sr_buf_addf(out, "</title>\n<text x=\"%d\" y=\"24\" text-anchor=\"middle\" "
				 "font-size=\"16\">", W / 2);
	if (rc == SR_OK)
		rc = add_text(out, title);
	if (rc == SR_OK)
		rc = sr_buf_addstr(out, "</text>\n");
	return rc;
}

static int label(struct sr_buf *out, double x, double y, const char *anchor,
		 const char *transform, const char *s)
{
	int rc = sr_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s%s>",
			     x, y, anchor, transform ? " transform=\"" : "",
			     transform ? transform : "", transform ? "\"" : "");
	if (rc == SR_OK)
		rc = add_text(out, s);
	if (rc == SR_OK)
		rc = sr_buf_addstr(out, "</text>\n");
	return rc;
}

/* Axes with TICKS + 1 ticks over [x0, x1] x [y0, y1]. */
static int axes(struct sr_buf *out, double x0, double x1, double y0, double y1,
		const char *x_label, const char *y_label)
{
	double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
	char tick[32], rot[64];
	int rc;

	rc = sr_buf_addf(out, "<g class=\"axes\" stroke=\"black\" fill=\"none\">\n"
			 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n"
			 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n</g>\n",
			 LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM, LEFT, TOP, LEFT, H - BOTTOM);
	for (int i = 0; rc == SR_OK && i <= TICKS; i++) {
		double fx = LEFT + pw * i / TICKS, fy = H - BOTTOM - ph * i / TICKS;
		rc = sr_buf_addf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n"
				 "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\"/>\n"
				 "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n",
				 fx, H - BOTTOM, fx, H - BOTTOM + 5, LEFT - 5, fy, LEFT, fy,
				 LEFT, fy, W - RIGHT, fy);
		snprintf(tick, sizeof(tick), "%.3g", x0 + (x1 - x0) * i / TICKS);
		if (rc == SR_OK)
			rc = label(out, fx, H - BOTTOM + 18, "middle", NULL, tick);
		snprintf(tick, sizeof(tick), "%.3g", y0 + (y1 - y0) * i / TICKS);
		if (rc == SR_OK)
			rc = label(out, LEFT - 8, fy + 4, "end", NULL, tick);
	}
	if (rc == SR_OK)
		rc = label(out, LEFT + pw / 2, H - 18, "middle", NULL, x_label);
	snprintf(rot, sizeof(rot), "rotate(-90 18 %.1f)", TOP + ph / 2);
	if (rc == SR_OK)
		rc = label(out, 18, TOP + ph / 2, "middle", rot, y_label);
	return rc;
}

int sr_svg_lines(struct sr_buf *out, const char *title, const char *x_label,
		 const char *y_label, const struct sr_svg_series *series,
		 size_t nseries, int diagonal, struct sr_err *err)
{
	double x0 = INFINITY, x1 = -INFINITY, y0 = 0, y1 = -INFINITY;
	double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
	int rc;

	if (nseries == 0)
		return sr_fail(err, SR_EINVAL, "plot %s: no series", title);
	for (size_t s = 0; s < nseries; s++) {
		if (series[s].npoints == 0)
			return sr_fail(err, SR_EINVAL, "plot %s: series %s has no points", title,
				       series[s].name);
		for (size_t i = 0; i < series[s].npoints; i++) {
			const struct sr_ml_point *pt = &series[s].points[i];
			if (!isfinite(pt->x) || !isfinite(pt->y))
				return sr_fail(err, SR_EINVAL, "plot %s: series %s point %zu is not finite",
					       title, series[s].name, i);
			x0 = fmin(x0, pt->x);
			x1 = fmax(x1, pt->x);
			y0 = fmin(y0, pt->y);
			y1 = fmax(y1, pt->y);
		}
	}
	if (diagonal) {
		x0 = fmin(x0, 0);
		x1 = fmax(x1, 1);
		y1 = fmax(y1, 1);
	}
	if (x1 <= x0)
		x1 = x0 + 1;
	if (y1 <= y0)
		y1 = y0 + 1;
	rc = header(out, title);
	if (rc == SR_OK)
		rc = axes(out, x0, x1, y0, y1, x_label, y_label);
#define PX(v) (LEFT + pw * ((v) - x0) / (x1 - x0))
#define PY(v) (H - BOTTOM - ph * ((v) - y0) / (y1 - y0))
	if (rc == SR_OK && diagonal)
		rc = sr_buf_addf(out, "<line class=\"diagonal\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
				 "y2=\"%.1f\" stroke=\"#888888\" stroke-dasharray=\"4 4\"/>\n",
				 PX(0.0), PY(0.0), PX(1.0), PY(1.0));
	for (size_t s = 0; rc == SR_OK && s < nseries; s++) {
		const char *color = colors[s % (sizeof(colors) / sizeof(*colors))];
		rc = sr_buf_addf(out, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
				 "stroke-width=\"2\" points=\"", color);
		for (size_t i = 0; rc == SR_OK && i < series[s].npoints; i++)
			rc = sr_buf_addf(out, "%s%.1f,%.1f", i ? " " : "",
					 PX(series[s].points[i].x), PY(series[s].points[i].y));
		if (rc == SR_OK)
			rc = sr_buf_addf(out, "\"/>\n<rect x=\"%d\" y=\"%zu\" width=\"12\" height=\"12\" "
					 "fill=\"%s\"/>\n", W - RIGHT + 15, TOP + 20 * s, color);
		if (rc == SR_OK)
			rc = label(out, W - RIGHT + 32, (double)(TOP + 20 * s + 11), "start", NULL,
				   series[s].name);
	}
#undef PX
#undef PY
	if (rc == SR_OK)
		rc = sr_buf_addstr(out, "</svg>\n");
	return rc ? sr_fail(err, rc, "plot %s: out of memory", title) : SR_OK;
}

int sr_svg_bars(struct sr_buf *out, const char *title, const char *const *names,
		const double *values, size_t n, struct sr_err *err)
{
	double top = 0, pw = W - 220 - 40, row;
	char text[32];
	int rc;

	if (n == 0)
		return sr_fail(err, SR_EINVAL, "plot %s: no bars", title);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i]) || values[i] < 0)
			return sr_fail(err, SR_EINVAL, "plot %s: bar %s: value %g, expected finite and >= 0",
				       title, names[i], values[i]);
		top = fmax(top, values[i]);
	}
	if (top == 0)
		top = 1;
	row = (double)(H - TOP - 20) / (double)n;
	rc = header(out, title);
	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		double y = TOP + row * (double)i;
		rc = sr_buf_addf(out, "<rect class=\"bar\" x=\"220\" y=\"%.1f\" width=\"%.1f\" "
				 "height=\"%.1f\" fill=\"%s\"/>\n", y + row * 0.1,
				 pw * values[i] / top, row * 0.8, colors[0]);
		if (rc == SR_OK)
			rc = label(out, 212, y + row * 0.5 + 4, "end", NULL, names[i]);
		snprintf(text, sizeof(text), "%.4g", values[i]);
		if (rc == SR_OK)
			rc = label(out, 224 + pw * values[i] / top, y + row * 0.5 + 4, "start",
				   NULL, text);
	}
	if (rc == SR_OK)
		rc = sr_buf_addstr(out, "</svg>\n");
	return rc ? sr_fail(err, rc, "plot %s: out of memory", title) : SR_OK;
}
