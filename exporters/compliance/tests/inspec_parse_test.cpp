#include <gtest/gtest.h>

#include "compliance_model.h"
#include "report_parse.h"

namespace estate::compliance {
namespace {

TEST(InspecParse, EmptyIsAnError) {
  auto r = ParseInspecFamily("", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("empty"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace estate::compliance
