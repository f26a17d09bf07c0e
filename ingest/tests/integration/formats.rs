//! Every format on a real file: text, structure and page numbers.

use ingest::{Format, parse};

use crate::support::{fixture, text_pdf};

#[test]
fn word_keeps_headings_lists_tables_and_page_breaks() {
    let document = parse("policy.docx", &fixture("policy.docx")).unwrap();
    assert_eq!(document.format, Format::Docx);
    assert_eq!(document.title, "信息安全管理制度", "title from the document properties");
    assert_eq!(document.pages.len(), 2, "the page break starts page 2");
    let first = &document.pages[0].text;
    assert!(first.starts_with("# 第一章 总则"), "{first}");
    assert!(first.contains("## 1.1 密码要求"), "{first}");
    assert!(first.contains("- 密码长度不少于十二位。"), "{first}");
    assert!(first.contains("邮件服务器 | 王工"), "table row on one line: {first}");
    assert!(document.pages[1].text.contains("机房钥匙由行政部保管 & 登记。"));
}

#[test]
fn powerpoint_pages_are_slides_with_notes() {
    let document = parse("results.pptx", &fixture("results.pptx")).unwrap();
    assert_eq!(document.pages.len(), 2);
    assert_eq!(document.title, "Quarterly results");
    let first = &document.pages[0].text;
    assert!(
        first.contains("# Quarterly results") && first.contains("Revenue grew 12%"),
        "{first}"
    );
    assert!(
        first.contains("Mention the new Shenzhen office."),
        "speaker notes: {first}"
    );
    assert!(document.pages[1].text.contains("开设成都办事处"));
}

#[test]
fn spreadsheets_name_sheets_and_columns_in_every_format() {
    let xlsx = parse("inventory.xlsx", &fixture("inventory.xlsx")).unwrap();
    assert_eq!(xlsx.pages.len(), 2, "one page per sheet");
    assert!(xlsx.pages[0].text.starts_with("# Servers"));
    assert!(
        xlsx.pages[0].text.contains("Host: db-02; Room: B1; Owner: Han Meimei"),
        "{}",
        xlsx.pages[0].text
    );
    assert!(
        xlsx.pages[1].text.contains("项目: 服务器采购; 金额: 120000"),
        "{}",
        xlsx.pages[1].text
    );
    let xls = parse("phones.xls", &fixture("phones.xls")).unwrap();
    assert!(
        xls.pages[0].text.contains("Name: IT desk; Extension: 8123"),
        "{}",
        xls.pages[0].text
    );
    let ods = parse("rooms.ods", &fixture("rooms.ods")).unwrap();
    assert!(
        ods.pages[0].text.contains("Room: Lotus; Seats: 30"),
        "{}",
        ods.pages[0].text
    );
}

#[test]
fn born_digital_pdf_text_per_page() {
    let document = parse("a.pdf", &text_pdf(&["The backup server is in room 4B."])).unwrap();
    assert_eq!(document.pages.len(), 1);
    assert!(
        document.pages[0].text.contains("backup server is in room 4B"),
        "{:?}",
        document.pages
    );
    assert!(document.ocr_pages.is_empty());
}

#[test]
fn text_in_legacy_chinese_encodings() {
    let text = "会议纪要：下周一上午九点在三楼会议室讨论年度预算，请各部门负责人准时参加。";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    assert_eq!(parse("纪要.txt", &gbk).unwrap().pages[0].text, text);
    let traditional = "會議紀要：下週一上午九點在三樓會議室討論年度預算，請各部門負責人準時參加。";
    let (big5, _, _) = encoding_rs::BIG5.encode(traditional);
    assert_eq!(parse("紀要.txt", &big5).unwrap().pages[0].text, traditional);
}

#[test]
fn email_with_html_body_and_attachment() {
    let message = "From: IT <it@example.com>\r\nTo: all@example.com\r\nSubject: Printer moved\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>The colour printer moved to <b>room 210</b>.</p>\r\n--x\r\n\
Content-Type: text/markdown; name=\"howto.md\"\r\nContent-Disposition: attachment; filename=\"howto.md\"\r\n\r\n\
# Howto\r\n\r\nSelect the queue PRN-210.\r\n--x--\r\n";
    let document = parse("printer.eml", message.as_bytes()).unwrap();
    assert_eq!(document.title, "Printer moved");
    assert!(document.pages[0].text.contains("room 210"), "{:?}", document.pages[0]);
    assert!(!document.pages[0].text.contains("<b>"));
    assert!(
        document.pages[1].text.contains("Select the queue PRN-210."),
        "{:?}",
        document.pages
    );
}
