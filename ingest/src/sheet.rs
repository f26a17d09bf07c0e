//! Spreadsheets (XLSX, XLS, ODS through calamine) and CSV. One page per sheet, headed by
//! the sheet name. With a header row, every data row is written as `Header: value; ...` on
//! its own line: a passage cut from the middle of a table still says what its numbers are.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use crate::{Page, ParseOptions, Parsed, Parser, Result, text};

/// Most cells read from one file (bounds time and memory on giant sheets).
const MAX_CELLS: usize = 2_000_000;

/// Renders rows of cell texts: a header row, then one line per data row.
fn render_rows(rows: impl Iterator<Item = Vec<String>>, cells_left: &mut usize) -> String {
    let mut header: Option<Vec<String>> = None;
    let mut text = String::new();
    for row in rows {
        if *cells_left == 0 {
            break;
        }
        *cells_left = cells_left.saturating_sub(row.len());
        let row: Vec<String> = row
            .iter()
            .map(|cell| cell.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if row.iter().all(String::is_empty) {
            continue;
        }
        let Some(names) = &header else {
            text.push_str(
                &row.iter()
                    .filter(|cell| !cell.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
            text.push('\n');
            header = Some(row);
            continue;
        };
        let fields: Vec<String> = row
            .iter()
            .enumerate()
            .filter(|(_, value)| !value.is_empty())
            .map(
                |(index, value)| match names.get(index).filter(|name| !name.is_empty()) {
                    Some(name) => format!("{name}: {value}"),
                    None => value.clone(),
                },
            )
            .collect();
        text.push_str(&fields.join("; "));
        text.push('\n');
    }
    text
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Error(_) => String::new(),
        other => other.to_string(),
    }
}

/// Excel and OpenDocument workbooks.
pub(crate) struct WorkbookParser;

impl Parser for WorkbookParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        if bytes.starts_with(b"PK") {
            // XLSX and ODS are zip archives: check for a bomb before calamine inflates it.
            crate::archive::open(bytes, "spreadsheet")?;
        }
        let mut workbook = open_workbook_auto_from_rs(Cursor::new(bytes))
            .map_err(|error| crate::Error::Corrupt(format!("the spreadsheet could not be read: {error}")))?;
        let mut cells_left = MAX_CELLS;
        let mut pages = Vec::new();
        for (index, name) in workbook.sheet_names().into_iter().enumerate() {
            let range = workbook
                .worksheet_range(&name)
                .map_err(|error| crate::Error::Corrupt(format!("sheet {name:?} could not be read: {error}")))?;
            let rows = range.rows().map(|row| row.iter().map(cell_text).collect());
            let body = render_rows(rows, &mut cells_left);
            pages.push(Page {
                number: index as u32 + 1,
                text: format!("# {name}\n\n{body}").trim_end().to_owned(),
            });
        }
        Ok(Parsed {
            pages,
            ..Parsed::default()
        })
    }
}

/// Comma-, semicolon- or tab-separated values in any supported text encoding.
pub(crate) struct CsvParser;

fn delimiter(first_line: &str) -> u8 {
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|delimiter| first_line.matches(*delimiter as char).count())
        .unwrap_or(b',')
}

impl Parser for CsvParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        let decoded = text::decode(bytes)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter(decoded.lines().next().unwrap_or_default()))
            .from_reader(decoded.as_bytes());
        let mut cells_left = MAX_CELLS;
        let rows = reader
            .records()
            .map_while(|record| record.ok())
            .map(|record| record.iter().map(str::to_owned).collect());
        Ok(Parsed {
            pages: vec![Page {
                number: 1,
                text: render_rows(rows, &mut cells_left).trim_end().to_owned(),
            }],
            ..Parsed::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_name_their_columns() {
        let rows = vec![
            vec!["姓名".to_owned(), "部门".to_owned(), String::new()],
            vec!["张三".to_owned(), "财务".to_owned(), "备注".to_owned()],
            vec![String::new(), String::new(), String::new()],
        ];
        let mut left = 100;
        assert_eq!(
            render_rows(rows.into_iter(), &mut left),
            "姓名 | 部门\n姓名: 张三; 部门: 财务; 备注\n"
        );
    }

    #[test]
    fn csv_in_gbk_is_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("产品,价格\n服务器,12000\n交换机,3000\n");
        let parsed = CsvParser.parse(&bytes, &ParseOptions::default()).unwrap();
        assert!(
            parsed.pages[0].text.contains("产品: 服务器; 价格: 12000"),
            "{:?}",
            parsed.pages[0].text
        );
    }

    #[test]
    fn semicolons_and_tabs_are_detected() {
        assert_eq!(delimiter("a;b;c"), b';');
        assert_eq!(delimiter("a\tb\tc,d"), b'\t');
    }
}
