// The static inventory file, YAML and CSV: VMs read, problems reported with their lines.
#include "inventory_file.h"

#include <gtest/gtest.h>

#include "estate/testing/e2e.h"

namespace estate::registry {
namespace {

TEST(InventoryFileTest, Yaml) {
  auto vms = ParseInventoryYaml(
      "vms:\n"
      "  - {name: xyz-web-a01, hypervisor: hv-01.example, project: xyz-prod}\n"
      "  - name: iex-fokpp01\n"
      "    id: 0b2a\n",
      "inv.yml");
  ASSERT_TRUE(vms.ok()) << vms.error();
  ASSERT_EQ(vms->size(), 2u);
  EXPECT_EQ((*vms)[0].name, "xyz-web-a01");
  EXPECT_EQ((*vms)[0].id, "xyz-web-a01");
  EXPECT_EQ((*vms)[0].hypervisor, "hv-01.example");
  EXPECT_EQ((*vms)[0].project, "xyz-prod");
  EXPECT_EQ((*vms)[0].source, "file:inv.yml");
  EXPECT_EQ((*vms)[1].id, "0b2a");
  EXPECT_EQ((*vms)[1].hypervisor, "");
}

TEST(InventoryFileTest, YamlErrorsHaveLines) {
  auto bad = ParseInventoryYaml("vms:\n  - {name: a}\n  - {nmae: b}\n", "inv.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("inv.yml:3"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("nmae"), std::string::npos) << bad.error();
  EXPECT_FALSE(ParseInventoryYaml("{}", "inv.yml").ok());
  EXPECT_FALSE(ParseInventoryYaml("vms: [", "inv.yml").ok());
}

TEST(InventoryFileTest, CsvWithQuotesCommentsAndAnyColumnOrder) {
  auto vms = ParseInventoryCsv(
      "# exported from the old CMDB\n"
      "project,name,hypervisor\n"
      "\n"
      "xyz-prod, xyz-web-a01 ,hv-01\n"
      "\"a, \"\"quoted\"\" project\",xyz-web-b01,\n",
      "inv.csv");
  ASSERT_TRUE(vms.ok()) << vms.error();
  ASSERT_EQ(vms->size(), 2u);
  EXPECT_EQ((*vms)[0].name, "xyz-web-a01");
  EXPECT_EQ((*vms)[0].project, "xyz-prod");
  EXPECT_EQ((*vms)[0].hypervisor, "hv-01");
  EXPECT_EQ((*vms)[1].project, "a, \"quoted\" project");
  EXPECT_EQ((*vms)[1].hypervisor, "");
}

TEST(InventoryFileTest, CsvErrors) {
  auto unknown = ParseInventoryCsv("name,owner\nx,y\n", "inv.csv");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find("inv.csv:1: unknown column \"owner\""), std::string::npos)
      << unknown.error();
  auto fields = ParseInventoryCsv("name,hypervisor\nx\n\"y,hv\n", "inv.csv");
  ASSERT_FALSE(fields.ok());
  EXPECT_NE(fields.error().find("inv.csv:2: 1 fields"), std::string::npos) << fields.error();
  EXPECT_NE(fields.error().find("inv.csv:3: unterminated"), std::string::npos) << fields.error();
  EXPECT_FALSE(ParseInventoryCsv("hypervisor\nx\n", "inv.csv").ok());
  EXPECT_FALSE(ParseInventoryCsv("", "inv.csv").ok());
  EXPECT_FALSE(ParseInventoryCsv("name\n\"\"\n", "inv.csv").ok());
}

TEST(InventoryFileTest, LoadPicksTheFormatByExtension) {
  testing::TempDir dir;
  auto csv = LoadInventoryFile(dir.Write("a.csv", "name\nabc-web01\n"));
  ASSERT_TRUE(csv.ok()) << csv.error();
  EXPECT_EQ(csv->size(), 1u);
  auto yml = LoadInventoryFile(dir.Write("a.yml", "vms: [{name: abc-web01}, {name: abc-web02}]\n"));
  ASSERT_TRUE(yml.ok()) << yml.error();
  EXPECT_EQ(yml->size(), 2u);
  EXPECT_FALSE(LoadInventoryFile(dir.path() + "/missing.yml").ok());
}

}  // namespace
}  // namespace estate::registry
