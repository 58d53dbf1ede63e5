// Writes metric families straight to exposition text in a RenderedData (refresher.h), without building
// ClientMetric objects: for jobs with hundreds of thousands of samples (the storage mapping, the compliance
// reports). Sample lines are exactly what metrics::Render writes (labels in the given order, values escaped,
// metrics::FormatValue). A family whose samples grow past kOwnMemberBytes is compressed as it is written (its
// own deflate piece, as the refresher would make it), so its text is never held whole.
//
//   RenderedData data;
//   RenderedWriter w(data);
//   w.Begin("estate_x_things", "Things by kind.");
//   w.Sample({{"kind", "a"}}, 3);
//   w.Finish();
//
// Not thread-safe; one writer per RenderedData.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "estate/http_server.h"
#include "estate/refresher.h"

namespace estate {

class RenderedWriter {
 public:
  using LabelList = std::initializer_list<std::pair<const char*, std::string_view>>;

  explicit RenderedWriter(RenderedData& data) : data_(data) {}
  RenderedWriter(const RenderedWriter&) = delete;
  RenderedWriter& operator=(const RenderedWriter&) = delete;
  ~RenderedWriter() { Finish(); }

  // Ends the previous family and starts the next; type is the text format's word (gauge, counter).
  void Begin(std::string name, std::string help, std::string type = "gauge");
  void Sample(LabelList labels, double value);
  // Ends the last family's slice (also done by Begin and the destructor).
  void Finish();

 private:
  static constexpr std::size_t kFeed = 256 << 10;
  void Feed();

  RenderedData& data_;
  bool open_ = false;
  std::unique_ptr<web::DeflateWriter> gzip_;  // the current family is being compressed
  std::shared_ptr<web::DeflatePiece> compressed_;
};

}  // namespace estate
