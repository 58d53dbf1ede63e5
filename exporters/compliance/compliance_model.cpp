#include "compliance_model.h"

#include <cctype>
#include <cmath>
#include <string>

namespace estate::compliance {

const char* StatusName(Status s) {
  switch (s) {
    case Status::kPassed:
      return "passed";
    case Status::kFailed:
      return "failed";
    case Status::kError:
      return "error";
    case Status::kNotApplicable:
      return "not_applicable";
    case Status::kNotReviewed:
      return "not_reviewed";
    case Status::kWaived:
      return "waived";
  }
  return "not_reviewed";
}

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kNone:
      return "none";
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
    case Severity::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// The InSpec/Heimdall bands (MANIFEST, research §2): < 0.1 none, < 0.4 low, < 0.7 medium, < 0.9 high, else
// critical. An impact outside 0..1 (or NaN) is clamped: negative is none, above 1 is critical.
Severity SeverityFromImpact(double impact) {
  if (std::isnan(impact)) return Severity::kUnknown;
  if (impact < 0.1) return Severity::kNone;
  if (impact < 0.4) return Severity::kLow;
  if (impact < 0.7) return Severity::kMedium;
  if (impact < 0.9) return Severity::kHigh;
  return Severity::kCritical;
}

// XCCDF's severity attribute (unknown | info | low | medium | high), matched without regard to case or
// surrounding blanks; "critical" is accepted (DISA content and converters use it); anything else is unknown.
Severity SeverityFromXccdf(std::string_view severity_attribute) {
  std::string s;
  for (char c : severity_attribute) {
    if (!std::isspace(static_cast<unsigned char>(c)))
      s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (s == "info" || s == "informational" || s == "none") return Severity::kNone;
  if (s == "low") return Severity::kLow;
  if (s == "medium" || s == "moderate") return Severity::kMedium;
  if (s == "high") return Severity::kHigh;
  if (s == "critical") return Severity::kCritical;
  return Severity::kUnknown;
}

int SeverityRank(Severity s) {
  switch (s) {
    case Severity::kLow:
      return 1;
    case Severity::kMedium:
      return 2;
    case Severity::kHigh:
      return 3;
    case Severity::kCritical:
      return 4;
    case Severity::kNone:
    case Severity::kUnknown:
      return 0;
  }
  return 0;
}

const char* FormatName(Format f) {
  switch (f) {
    case Format::kUnknown:
      return "unknown";
    case Format::kInspecJson:
      return "inspec_json";
    case Format::kAutomate:
      return "automate";
    case Format::kHdf:
      return "hdf";
    case Format::kJsonMin:
      return "json_min";
    case Format::kXccdf11:
      return "xccdf_1.1";
    case Format::kXccdf12:
      return "xccdf_1.2";
    case Format::kArf:
      return "arf";
  }
  return "unknown";
}

}  // namespace estate::compliance
