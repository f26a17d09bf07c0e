//! Text normalisation for indexing and querying: full-width forms folded to ASCII,
//! ideographic spaces to spaces, lower case, Traditional Chinese characters mapped to
//! Simplified (so a Simplified query finds Traditional documents and the reverse), and the
//! computing words Taiwan and the mainland say differently (檔案 and 文件, 設定 and 设置)
//! folded to the mainland word. One character in, one character out, so offsets in the
//! normalised text are offsets in the original; the original text is what is stored and
//! shown. Changing what this folds changes the index: bump
//! [`crate::tokenizer::ANALYZER_VERSION`].

/// Folds one character.
pub fn fold_char(character: char) -> char {
    let folded = match character {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(character as u32 - 0xFEE0).unwrap_or(character),
        '\u{3000}' => ' ',
        other => other,
    };
    let mut lower = folded.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        _ => folded,
    }
}

/// Computing words as written in Taiwan (after character conversion) and the mainland
/// word of the same length they fold to: a question written in one region's words finds a
/// document written in the other's. Only words of equal length (offsets stay valid), and
/// only where the Taiwanese form means little else on the mainland: 资料 (materials there)
/// and 使用者 (three characters against 用户's two) are left alone.
const REGIONAL_WORDS: [(&str, &str); 26] = [
    ("档案", "文件"),
    ("设定", "设置"),
    ("预设", "默认"),
    ("程式", "程序"),
    ("函式", "函数"),
    ("变数", "变量"),
    ("模组", "模块"),
    ("网路", "网络"),
    ("软体", "软件"),
    ("硬体", "硬件"),
    ("硬碟", "硬盘"),
    ("登入", "登录"),
    ("登出", "注销"),
    ("列印", "打印"),
    ("萤幕", "屏幕"),
    ("介面", "界面"),
    ("伺服器", "服务器"),
    ("资料夹", "文件夹"),
    ("资料库", "数据库"),
    ("位址", "地址"),
    ("载入", "加载"),
    ("汇入", "导入"),
    ("汇出", "导出"),
    ("快取", "缓存"),
    ("金钥", "密钥"),
    ("相依", "依赖"),
];

/// Folds a whole string (same number of characters as the input).
pub fn normalize(text: &str) -> String {
    let folded: String = text.chars().map(fold_char).collect();
    to_mainland(&folded)
}

/// `text` with Traditional characters in Simplified and Taiwan's computing words in the
/// mainland's, case and width left alone (same number of characters as the input): what a
/// question in Traditional Chinese reads like to a model of Simplified documents.
pub fn to_mainland(text: &str) -> String {
    let mut simplified = fast2s::convert(text);
    for (taiwan, mainland) in REGIONAL_WORDS {
        if simplified.contains(taiwan) {
            simplified = simplified.replace(taiwan, mainland);
        }
    }
    simplified
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_and_case_keeping_length() {
        let input = "ＡＢＣ１２３　Linux，中文";
        let output = normalize(input);
        assert_eq!(output, "abc123 linux,中文");
        assert_eq!(input.chars().count(), output.chars().count());
    }

    #[test]
    fn taiwanese_computing_words_become_the_mainland_ones() {
        for (input, expected) in [
            ("系統主機名稱儲存在哪個檔案", "系统主机名称储存在哪个文件"),
            ("加密檔案系統的設定", "加密文件系统的设置"),
            ("模組載入有問題", "模块加载有问题"),
            ("預設的伺服器位址", "默认的服务器地址"),
        ] {
            let output = normalize(input);
            assert_eq!(output, expected);
            assert_eq!(input.chars().count(), output.chars().count());
        }
        for (taiwan, mainland) in REGIONAL_WORDS {
            assert_eq!(taiwan.chars().count(), mainland.chars().count(), "{taiwan}");
            assert_eq!(normalize(mainland), mainland, "a mainland word is already folded");
        }
    }

    #[test]
    fn to_mainland_keeps_case_and_width() {
        assert_eq!(
            to_mainland("系統主機名稱儲存在哪個檔案？ Linux"),
            "系统主机名称储存在哪个文件？ Linux"
        );
        assert_eq!(to_mainland("ＡＢＣ 网络"), "ＡＢＣ 网络");
    }

    #[test]
    fn traditional_becomes_simplified() {
        let input = "系統管理員可以設定使用者群組與文件權限";
        let output = normalize(input);
        assert_eq!(output, "系统管理员可以设置使用者群组与文件权限");
        assert_eq!(input.chars().count(), output.chars().count());
    }
}
