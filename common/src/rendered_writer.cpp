#include "estate/rendered_writer.h"

#include "estate/metrics.h"

namespace estate {

void RenderedWriter::Begin(std::string name, std::string help, std::string type) {
  Finish();
  RenderedData::Family f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = std::move(type);
  f.offset = data_.samples.size();
  data_.families.push_back(std::move(f));
  open_ = true;
}

void RenderedWriter::Sample(LabelList labels, double value) {
  std::string& s = data_.samples;
  s.append(data_.families.back().name);
  if (labels.size() != 0) {
    s.push_back('{');
    bool first = true;
    for (const auto& [name, v] : labels) {
      if (!first) s.push_back(',');
      first = false;
      s.append(name).append("=\"");
      if (v.find_first_of("\\\"\n") == std::string_view::npos) {
        s.append(v);
      } else {
        s.append(metrics::EscapeLabelValue(v));
      }
      s.push_back('"');
    }
    s.push_back('}');
  }
  s.push_back(' ');
  s.append(metrics::FormatValue(value));
  s.push_back('\n');
  const std::size_t pending = s.size() - data_.families.back().offset;
  if (gzip_ ? pending >= kFeed : pending >= kOwnMemberBytes) Feed();
}

void RenderedWriter::Finish() {
  if (!open_) return;
  auto& f = data_.families.back();
  if (gzip_) {
    Feed();
    gzip_->Finish();
    compressed_->bytes.shrink_to_fit();
    compressed_->crc = gzip_->crc();
    compressed_->length = gzip_->length();
    gzip_.reset();
    f.length = compressed_->length;
    f.gzip = std::move(compressed_);
  } else {
    f.length = data_.samples.size() - f.offset;
  }
  open_ = false;
}

// Moves the current family's text written so far into its deflate piece.
void RenderedWriter::Feed() {
  auto& f = data_.families.back();
  if (!gzip_) {
    compressed_ = std::make_shared<web::DeflatePiece>();
    compressed_->bytes.reserve(kOwnMemberBytes);
    gzip_ = std::make_unique<web::DeflateWriter>(
        [out = &compressed_->bytes](std::string_view p) {
          out->append(p);
          return true;
        },
        kOwnMemberLevel);
  }
  std::string_view text = std::string_view(data_.samples).substr(f.offset);
  gzip_->Add(text);
  data_.samples.resize(f.offset);
}

}  // namespace estate
