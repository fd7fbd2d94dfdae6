// Form bodies as Mailgun, SendGrid and Slack post them: urlencoded and multipart/form-data.
#include "hookmcp/core/form.hpp"

#include <gtest/gtest.h>

namespace hookmcp {
namespace {

TEST(Form, UrlencodedFieldsInOrderDecoded) {
  auto fields = parse_form("application/x-www-form-urlencoded; charset=utf-8",
                           "Message-Id=%3Ca%40b%3E&subject=Hi+there&to=x&to=y&empty=&flag");
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), 6u);
  EXPECT_EQ((*fields)[0].name, "Message-Id");
  EXPECT_EQ((*fields)[0].value, "<a@b>");
  EXPECT_EQ((*fields)[1].value, "Hi there");
  EXPECT_EQ(form_field(*fields, "to"), "x");  // the first of a repeated name
  EXPECT_EQ(form_field(*fields, "empty"), "");
  EXPECT_EQ(form_field(*fields, "flag"), "");
  EXPECT_FALSE(form_field(*fields, "absent"));
  EXPECT_FALSE(parse_form("application/x-www-form-urlencoded", "a=%zz"));
  EXPECT_FALSE(parse_form("application/x-www-form-urlencoded", "a=%4"));
  EXPECT_FALSE(parse_form("application/json", "a=b"));
  EXPECT_TRUE(parse_form("application/x-www-form-urlencoded", "")->empty());
}

TEST(Form, MultipartPartsFilesAndMalformedBodies) {
  const std::string body =
      "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHi\r\n"
      "--XyZ\r\ncontent-disposition: form-data; name=\"body\"\r\n\r\nline 1\r\nline 2\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"r \\\"q\\\".pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n%PDF\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\nepilogue";
  auto fields = parse_form("multipart/form-data; boundary=\"XyZ\"", body);
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), 4u);
  EXPECT_EQ((*fields)[0].value, "Hi");
  EXPECT_EQ((*fields)[1].value, "line 1\r\nline 2");
  EXPECT_TRUE((*fields)[2].file);
  EXPECT_EQ((*fields)[2].filename, "r \"q\".pdf");
  EXPECT_EQ((*fields)[2].content_type, "application/pdf");
  EXPECT_EQ((*fields)[2].value, "%PDF");
  EXPECT_EQ((*fields)[3].value, "");

  const std::string part = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n";
  EXPECT_TRUE(parse_form("multipart/form-data; boundary=b", part + "--b--"));
  EXPECT_FALSE(parse_form("multipart/form-data; boundary=b", part));  // never closed
  EXPECT_FALSE(parse_form("multipart/form-data", part + "--b--"));    // no boundary
  EXPECT_FALSE(parse_form("multipart/form-data; boundary=b",
                          "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--"));  // no name
  EXPECT_FALSE(parse_form("multipart/form-data; boundary=b",
                          "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n--b--"));
  EXPECT_FALSE(parse_form("multipart/form-data; boundary=b", "no delimiter at all"));
}

TEST(Form, HeaderParameters) {
  EXPECT_EQ(header_parameter("multipart/form-data; boundary=abc", "boundary"), "abc");
  EXPECT_EQ(header_parameter("multipart/form-data;BOUNDARY=\"a;b\"; x=1", "boundary"), "a;b");
  EXPECT_EQ(header_parameter("form-data; name=\"n\"; filename=\"f\"", "filename"), "f");
  EXPECT_FALSE(header_parameter("form-data; name=\"n", "name"));
  EXPECT_FALSE(header_parameter("text/plain", "charset"));
  EXPECT_TRUE(is_form("Multipart/Form-Data; boundary=x"));
  EXPECT_FALSE(is_form("text/plain"));
}

}  // namespace
}  // namespace hookmcp
