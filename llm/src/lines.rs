//! Lines back into sentences: the breaks in a passage's text that only wrap a sentence (PDF
//! lines, a Markdown paragraph typed over several lines) are joined, the ones that end a
//! list item, a heading or a table row are kept.
//!
//! A passage's sentences are what extracts quote and answers are checked against, so they
//! must be the ones its author wrote, not line fragments, and not a table read as one
//! sentence. PDF text gives a table one row per line with no blank line between rows: joined,
//! "Check if "$unit" service is failed ... Reset failed "$unit" ..." became one sentence of
//! thirty rows, quoted whole as an extract.

/// Share of the passage's widest line below which a line ended early: in a paragraph that
/// holds one, a break before Chinese text or a digit ends a table row, not a sentence
/// wrapped for want of room. A choice: wrapped lines of a justified page fill it but for the width of the
/// word that did not fit.
const SHORT_LINE: f32 = 0.7;

/// Share of the broadest of a paragraph's lines (its last aside) that the others reach when
/// they only wrap its text: a wrapped line falls short by the word that did not fit.
const EVEN_LINES: f32 = 0.8;

/// `text` with the line breaks that only wrap a sentence joined: a single break between two
/// lines of one paragraph, unless the next line starts a list item, a table row or a
/// heading. A hyphen that split a word goes; Chinese joins without a space. Blank lines and
/// list items stay. A paragraph whose breaks mostly start a new capitalised line (or, in
/// Chinese, where a line other than the last ended early) is a table and keeps the breaks
/// between its rows.
pub fn unwrap_lines(text: &str) -> std::borrow::Cow<'_, str> {
    unwrap_lines_within(text, widest(text))
}

/// The [`width`] of the widest line of `text`.
pub fn widest(text: &str) -> usize {
    text.split('\n').map(width).max().unwrap_or(0)
}

/// Whether `line` ends a sentence or a clause that introduces what follows (. ! ? ; : in
/// either width).
pub fn ends_with_stop(line: &str) -> bool {
    line.trim_end()
        .ends_with(['.', '!', '?', ';', ':', '。', '！', '？', '；', '：'])
}

/// Whether `line` is an item of a list: a bullet, or a number followed by `.`, `)` or `、`.
pub fn is_list_item(line: &str) -> bool {
    let line = line.trim_start();
    let numbered = line.split_once(['.', ')', '、']).is_some_and(|(number, _)| {
        !number.is_empty() && number.len() <= 3 && number.chars().all(|character| character.is_ascii_digit())
    });
    numbered || line.starts_with(['-', '*', '•', '·'])
}

/// [`unwrap_lines`] of one paragraph of a passage whose widest line is `widest` wide (see
/// [`width`]): what a full line is cannot be told from a table alone.
pub fn unwrap_lines_within(text: &str, widest: usize) -> std::borrow::Cow<'_, str> {
    if !text.contains('\n') {
        return text.into();
    }
    let lines: Vec<&str> = text.split('\n').map(|line| line.trim_end_matches('\r')).collect();
    let joins = joins(&lines, widest);
    let mut joined = String::with_capacity(text.len());
    for (index, line) in lines.iter().enumerate() {
        let continues = index > 0 && joins[index - 1];
        joined.push_str(if continues { line.trim_start() } else { line });
        let Some(next) = lines.get(index + 1) else { break };
        if !joins[index] {
            joined.push('\n');
            continue;
        }
        let first = next.trim_start().chars().next().unwrap_or(' ');
        let mut previous = line.trim_end().chars().rev();
        let last = previous.next().unwrap_or(' ');
        if last == '-' && first.is_lowercase() && previous.next().is_some_and(char::is_alphabetic) {
            while joined.ends_with(char::is_whitespace) {
                joined.pop();
            }
            joined.pop();
        } else if !(is_cjk(last) || is_cjk(first)) {
            joined.push(' ');
        }
    }
    joined.into()
}

/// The display width of `line`: a Chinese character counts two.
pub fn width(line: &str) -> usize {
    line.trim()
        .chars()
        .map(|character| if is_cjk(character) { 2 } else { 1 })
        .sum()
}

/// How the break after a line reads, judged from the lines on both sides.
#[derive(Clone, Copy, PartialEq)]
enum Break {
    /// The next line starts a new row: a capital after a line with no stop, or Chinese or a
    /// digit in a paragraph where a line ended early.
    Row,
    /// The next line goes on with the sentence: lower case, or Chinese after a full line.
    Wrap,
    /// Neither tells: after a stop or a comma, or before a quote, a bracket, or a digit where
    /// no line ended early.
    Unclear,
}

/// For each break between `lines[i]` and `lines[i + 1]`, whether it is joined.
fn joins(lines: &[&str], widest: usize) -> Vec<bool> {
    let mut joins: Vec<bool> = lines.windows(2).map(|pair| wraps(pair[0], pair[1])).collect();
    // Each paragraph (a run of joined lines) is a table or not as a whole.
    let mut start = 0;
    while start < joins.len() {
        let end = (start..joins.len()).find(|index| !joins[*index]).unwrap_or(joins.len());
        // A line that ends well short of the widest (the last of a paragraph aside) ended
        // for a reason other than want of room; so did one of lines whose widths differ
        // more than wrapping makes them (a passage may hold a table's rows alone).
        let widths: Vec<f32> = lines[start..end].iter().map(|line| width(line) as f32).collect();
        let narrowest = widths.iter().copied().fold(f32::INFINITY, f32::min);
        let broadest = widths.iter().copied().fold(0.0, f32::max);
        let ragged = narrowest < SHORT_LINE * widest as f32 || (widths.len() >= 2 && narrowest < EVEN_LINES * broadest);
        let breaks: Vec<Break> = (start..end)
            .map(|index| read_break(lines[index], lines[index + 1], ragged))
            .collect();
        let rows = breaks.iter().filter(|read| **read == Break::Row).count();
        let wraps = breaks.iter().filter(|read| **read == Break::Wrap).count();
        if rows >= 2 && rows > 2 * wraps {
            for (index, read) in (start..end).zip(breaks) {
                joins[index] = read != Break::Row;
            }
        }
        start = end + 1;
    }
    joins
}

/// How the break after `line` reads; `ragged` when some line of its paragraph ended early.
fn read_break(line: &str, next: &str, ragged: bool) -> Break {
    let (line, next) = (line.trim(), next.trim());
    let (Some(last), Some(first)) = (line.chars().next_back(), next.chars().next()) else {
        return Break::Unclear;
    };
    if ends_with_stop(line) || matches!(last, ',' | '-' | '，' | '、') {
        return Break::Unclear;
    }
    if first.is_uppercase() {
        Break::Row
    } else if first.is_lowercase() || (is_cjk(first) && !ragged) {
        Break::Wrap
    } else if ragged && (is_cjk(first) || first.is_ascii_digit()) {
        Break::Row
    } else {
        Break::Unclear
    }
}

/// Whether the break between `line` and `next` may only wrap one paragraph's text: not
/// before a list item or a heading.
fn wraps(line: &str, next: &str) -> bool {
    let (line, next) = (line.trim(), next.trim());
    !line.is_empty()
        && !next.is_empty()
        && !line.starts_with(['#', '|'])
        && !next.starts_with(['#', '|', '>'])
        && !is_list_item(next)
}

fn is_cjk(character: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&character)
        || ('\u{3000}'..='\u{303F}').contains(&character)
        || ('\u{FF00}'..='\u{FFEF}').contains(&character)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_join_but_paragraphs_lists_and_headings_stay() {
        assert_eq!(
            unwrap_lines("Each document is readable by the\ngroups it is assigned to.\n\nNext."),
            "Each document is readable by the groups it is assigned to.\n\nNext."
        );
        assert_eq!(
            unwrap_lines("## Title\nText that\n  goes on."),
            "## Title\nText that goes on."
        );
        assert_eq!(
            unwrap_lines("Steps:\n- one\n- two\n1. three"),
            "Steps:\n- one\n- two\n1. three"
        );
        assert_eq!(
            unwrap_lines("a hyphen-\nated word, re-\nUse"),
            "a hyphenated word, re- Use"
        );
        assert_eq!(
            unwrap_lines("每份文档只对指定的\n用户组可见。"),
            "每份文档只对指定的用户组可见。"
        );
        assert_eq!(unwrap_lines("No break."), "No break.");
    }

    #[test]
    fn regression_a_pdf_table_was_read_as_one_sentence() {
        // Debian Reference, table 3.6, as the PDF parser gives it: one row per line.
        let table = "Operation Command snippets\n\
                     Check if \u{201d}$unit\u{201d} service is failed \u{201d}systemctl is-failed $unit\u{201d}\n\
                     Reset failed \u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}\n\
                     Set default-target to \u{201d}graphical\u{201d} (GUI\n\
                     system) \u{201d}systemctl set-default graphical\u{201d}";
        assert_eq!(
            unwrap_lines(table),
            "Operation Command snippets\n\
             Check if \u{201d}$unit\u{201d} service is failed \u{201d}systemctl is-failed $unit\u{201d}\n\
             Reset failed \u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}\n\
             Set default-target to \u{201d}graphical\u{201d} (GUI system) \u{201d}systemctl set-default graphical\u{201d}"
        );
        // Rows that start with a number ("0 KERN_EMERG"), under a header in lower case.
        let levels = "error level value error level name meaning\n0 KERN_EMERG system is unusable\n\
                      1 KERN_ALERT action must be taken immediately\n2 KERN_CRIT critical conditions";
        assert_eq!(unwrap_lines(levels), levels);
        // The same table in Chinese: no capitals, but rows end well short of a full line.
        let prose = "对于使用 systemd 的现代 Debian 桌面系统，网络接口通常由两个服务进行初始化：lo 接口通常在";
        let rows = "检查\u{201d}$unit\u{201d} 服务是否是失败的 \u{201d}systemctl is-failed $unit\u{201d}\n\
                    启动\u{201d}$unit\u{201d} \u{201d}systemctl start $unit\u{201d}\n\
                    重设失败的\u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}";
        assert_eq!(
            unwrap_lines(&format!("{prose}\n\n{rows}")),
            format!("{prose}\n\n{rows}")
        );
        assert_eq!(unwrap_lines_within(rows, width(prose)), rows);
        // A passage of rows alone: the rows' own widths vary.
        assert_eq!(unwrap_lines(rows), rows);
        let even = "检查\u{201d}$unit\u{201d} 服务是否是活动的 \u{201d}systemctl is-active $unit\u{201d}\n\
                    检查\u{201d}$unit|$PID|device\u{201d} 的状态 \u{201d}systemctl status $unit|$PID|$device\u{201d}\n\
                    重设失败的\u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}\n\
                    列出安装在系统上的单元文件 \u{201d}systemctl list-unit-files\u{201d}";
        assert_eq!(unwrap_lines(even), even);
    }

    #[test]
    fn prose_that_breaks_before_a_capital_is_not_a_table() {
        let prose = "The packages are built by the Debian\nProject and signed by its\nkeys, which apt checks.";
        assert_eq!(
            unwrap_lines(prose),
            "The packages are built by the Debian Project and signed by its keys, which apt checks."
        );
        let sentences = "First, stop the service.\nThen mask it.\nFinally reload.";
        assert_eq!(
            unwrap_lines(sentences),
            "First, stop the service. Then mask it. Finally reload."
        );
        // A Chinese paragraph whose lines fill the page is one sentence.
        // Debian Reference in Chinese, as the PDF parser gives it: lines of a justified page
        // differ by the width of the word that did not fit.
        let justified = "系统启动时（即，init），systemd 进程会尝试启动”/lib/systemd/system/default.target（通常是到”graphical.target”\n的符号链接）。首先，一些特殊的 target 单元（参见 systemd.special(7)），比如”local-fs.target”、”swap.target”\n和”cryptsetup.target” 会被引入以挂载文件系统。之后，其它 target 单元也会根据单元依赖关系而被引入。详细\n情况，请阅读 bootup(7)。";
        assert_eq!(unwrap_lines(justified), justified.replace('\n', ""));
        let wrapped = "对于使用 systemd 的现代 Debian 桌面系统，网络接口通常由两个服务进行初始化：lo 接口通常在\n处理，而其它接口则由处理。";
        assert_eq!(
            unwrap_lines(wrapped),
            "对于使用 systemd 的现代 Debian 桌面系统，网络接口通常由两个服务进行初始化：lo 接口通常在处理，而其它接口则由处理。"
        );
    }
}
