#include "estate/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace estate::metrics {

Family Gauge(std::string name, std::string help) {
  Family f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

Family Counter(std::string name, std::string help) {
  Family f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Counter;
  return f;
}

void Add(Family& family, const Labels& labels, double value) {
  prometheus::ClientMetric m;
  m.label.reserve(labels.size());
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  switch (family.type) {
    case prometheus::MetricType::Counter: m.counter.value = value; break;
    case prometheus::MetricType::Gauge: m.gauge.value = value; break;
    default: m.untyped.value = value; break;
  }
  family.metric.push_back(std::move(m));
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out.append("\\\\");
    else if (c == '"') out.append("\\\"");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out.append("\\\\");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // Prefer the shortest representation that round-trips.
    for (int precision = 6; precision < 17; ++precision) {
      char shorter[32];
      std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
      if (std::strtod(shorter, nullptr) == v) {
        return shorter;
      }
    }
  }
  return buf;
}

namespace {

const char* TypeName(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter: return "counter";
    case prometheus::MetricType::Gauge: return "gauge";
    case prometheus::MetricType::Histogram: return "histogram";
    case prometheus::MetricType::Summary: return "summary";
    default: return "untyped";
  }
}

void AppendLabels(std::string& out, const std::vector<prometheus::ClientMetric::Label>& labels,
                  const char* extra_name = nullptr, const std::string& extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return;
  out.push_back('{');
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(l.name).append("=\"").append(EscapeLabelValue(l.value)).push_back('"');
  }
  if (extra_name != nullptr) {
    if (!first) out.push_back(',');
    out.append(extra_name).append("=\"").append(extra_value).push_back('"');
  }
  out.push_back('}');
}

void AppendSample(std::string& out, const std::string& name, const char* suffix,
                  const std::vector<prometheus::ClientMetric::Label>& labels, double value,
                  const char* extra_name = nullptr, const std::string& extra_value = {}) {
  out.append(name);
  if (suffix != nullptr) out.append(suffix);
  AppendLabels(out, labels, extra_name, extra_value);
  out.push_back(' ');
  out.append(FormatValue(value));
  out.push_back('\n');
}

}  // namespace

void RenderHeader(const Family& family, std::string& out) {
  out.append("# HELP ").append(family.name).push_back(' ');
  out.append(EscapeHelp(family.help)).push_back('\n');
  out.append("# TYPE ").append(family.name).push_back(' ');
  out.append(TypeName(family.type)).push_back('\n');
}

void RenderSamples(const Family& family, std::string& out) {
  for (const auto& m : family.metric) {
    switch (family.type) {
      case prometheus::MetricType::Counter: AppendSample(out, family.name, nullptr, m.label, m.counter.value); break;
      case prometheus::MetricType::Gauge: AppendSample(out, family.name, nullptr, m.label, m.gauge.value); break;
      case prometheus::MetricType::Histogram: {
        for (const auto& b : m.histogram.bucket) {
          AppendSample(out, family.name, "_bucket", m.label, static_cast<double>(b.cumulative_count), "le",
                       FormatValue(b.upper_bound));
        }
        AppendSample(out, family.name, "_sum", m.label, m.histogram.sample_sum);
        AppendSample(out, family.name, "_count", m.label, static_cast<double>(m.histogram.sample_count));
        break;
      }
      case prometheus::MetricType::Summary: {
        for (const auto& q : m.summary.quantile) {
          AppendSample(out, family.name, nullptr, m.label, q.value, "quantile", FormatValue(q.quantile));
        }
        AppendSample(out, family.name, "_sum", m.label, m.summary.sample_sum);
        AppendSample(out, family.name, "_count", m.label, static_cast<double>(m.summary.sample_count));
        break;
      }
      default: AppendSample(out, family.name, nullptr, m.label, m.untyped.value); break;
    }
  }
}

void RenderFamily(const Family& family, std::string& out) {
  RenderHeader(family, out);
  RenderSamples(family, out);
}

std::string Render(const Families& families) {
  std::string out;
  for (const auto& f : families) RenderFamily(f, out);
  return out;
}

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.find(':') != std::string_view::npos) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  return ValidMetricName(name);
}

}  // namespace estate::metrics
