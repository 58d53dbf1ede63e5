// The metric model every collector produces, and its rendering to the Prometheus text exposition format 0.0.4.
// Families are prometheus-cpp MetricFamily values; this header adds builders and a renderer that escapes HELP
// and label values correctly and keeps the caller's order (so golden files are stable).
// All functions are pure and thread-safe.
#pragma once

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace estate::metrics {

using Family = prometheus::MetricFamily;
using Families = std::vector<Family>;
using Labels = std::vector<std::pair<std::string, std::string>>;

Family Gauge(std::string name, std::string help);
Family Counter(std::string name, std::string help);

// Adds one sample. Label order is kept as given.
void Add(Family& family, const Labels& labels, double value);

// Appends one family's text (HELP, TYPE and samples) to out. An empty family still gets HELP and TYPE.
void RenderFamily(const Family& family, std::string& out);
// Renders only the sample lines of a family.
void RenderSamples(const Family& family, std::string& out);
void RenderHeader(const Family& family, std::string& out);
std::string Render(const Families& families);

// Escapes a label value (\\, \", \n) and HELP text (\\, \n) as the text format requires.
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// Formats a sample value the way Prometheus does: integers without exponent, NaN, +Inf, -Inf.
std::string FormatValue(double v);

// True when name is a valid metric / label name.
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

}  // namespace estate::metrics
