// The explorer page in headless Chromium (Debian's `chromium`, installed by scripts/setup): it
// must render every head and token of a G2P document with no script error, and screenshot as a
// non-blank page of the window's size.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "attend/attention/attention_capture.h"
#include "attend/core/autograd.h"
#include "attend/models/g2p.h"
#include "attend/viz/explorer.h"
#include "viz/png_check.h"
#include "harness/temp_dir.h"

namespace attend::viz {
namespace {

// The untrained paper-sized G2P model (3 + 3 layers, 4 heads) on "hello" -> HH AH L OW.
AttentionDocument hello_document() {
  const models::Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  Generator g(3);
  models::G2PTransformer<float> model(models::G2PConfig{}, letters.size(), phonemes.size(), g);
  model.eval();
  std::vector<int64_t> target = {models::Vocabulary::kStart};
  for (const char* p : {"HH", "AH", "L", "OW"}) target.push_back(phonemes.id(p));
  AttentionCapture capture;
  {
    NoGradGuard no_grad;
    model.forward(models::pad_batch({models::encode_word(letters, "hello")}), models::pad_batch({target}));
  }
  AttentionDocument doc =
      make_document(capture, "g2p", {"h", "e", "l", "l", "o", "</s>"}, {"<s>", "HH", "AH", "L", "OW"});
  doc.predicted_tokens = {"HH", "AH", "L", "OW", "</s>"};
  return doc;
}

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  pclose(pipe);
  return output;
}

// Headless, without the sandbox (tests run as root in CI). The page renders in its load event, so
// the DOM and the screenshot are taken after it; no virtual-time budget is needed (here each
// second of one costs a second of real time).
const char* kChromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars ";

TEST(Explorer, PageIsSelfContainedAndEscapesTheDocument) {
  const std::string page = render_explorer(hello_document());
  EXPECT_EQ(page.find("/*ATTEND_DATA*/"), std::string::npos);
  EXPECT_EQ(page.find("/*ATTEND_PALETTE*/"), std::string::npos);
  EXPECT_NE(page.find("\"<\\/s>\""), std::string::npos);  // "</s>" cannot close the data's <script>
  // Nothing to fetch: no src or href attributes, no URL but the SVG namespace.
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("href="), std::string::npos);
  const std::regex url("https?://(?!www\\.w3\\.org/(2000/svg|1999/xhtml))");
  EXPECT_FALSE(std::regex_search(page, url));
  EXPECT_THROW(render_explorer(AttentionDocument{}), ValueError);
}

TEST(Explorer, RendersEveryHeadAndTokenInHeadlessChromium) {
  ASSERT_EQ(std::system("command -v chromium > /dev/null"), 0)
      << "chromium is not installed (scripts/setup installs it)";
  attend::testing::TempDir temp;
  const auto& dir = temp.path();
  const auto page = dir / "explorer.html";
  write_explorer(page.string(), hello_document());

  const std::string dom = run(std::string(kChromium) + "--dump-dom " + page.string() + " 2>/dev/null");
  std::smatch status;
  ASSERT_TRUE(std::regex_search(dom, status, std::regex("status: [^<]*"))) << dom.substr(0, 2000);
  // The last decoder layer's cross-attention first: 5 target rows x 6 source columns, 4 heads;
  // 3 kinds x 3 layers x 4 heads thumbnails.
  EXPECT_EQ(status.str(),
            "status: rendered kind=cross layer=2 heads=4 source_tokens=6 target_tokens=5 head_view_tokens=11 "
            "matrix_cells=30 thumbnails=36 errors=0");

  const auto shot = dir / "explorer.png";
  run(std::string(kChromium) + "--window-size=1280,900 --screenshot=" + shot.string() + " " + page.string() +
      " > /dev/null 2>&1");
  const PngSummary png = summarize_png(read_file(shot));
  EXPECT_EQ(png.width, 1280);
  EXPECT_EQ(png.height, 900);
  EXPECT_GT(png.distinct_colors, 100);  // text, head colours, viridis cells
  EXPECT_GT(png.ink, 0.05);
  if (std::getenv("ATTEND_KEEP_EXPLORER_TEST")) temp.keep();  // set it to look at the page
}

}  // namespace
}  // namespace attend::viz
