//! Numbers as values: digits with their separators, full-width digits and Chinese numerals.

/// Numbers of `text`, normalised: digits with their separators ("3.5", "11:30", "2026-12-01"),
/// thousands separators dropped, full-width digits folded, and Chinese numerals converted
/// ("十一" is "11"). A lone "一" is not counted ("一个" is usually just "a").
pub fn numbers(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .map(|character| match character {
            '０'..='９' => char::from_u32(character as u32 - '０' as u32 + '0' as u32).unwrap_or(character),
            _ => character,
        })
        .collect();
    let characters: Vec<char> = folded.chars().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        // Digits glued to a word ("MD5", "bcrypt2", "v1.2") belong to a name.
        if character.is_ascii_digit() && index > 0 && characters[index - 1].is_ascii_alphabetic() {
            while index < characters.len() && (characters[index].is_ascii_alphanumeric() || characters[index] == '.') {
                index += 1;
            }
            continue;
        }
        if character.is_ascii_digit() {
            let start = index;
            while index < characters.len()
                && (characters[index].is_ascii_digit()
                    || (matches!(characters[index], '.' | ':' | '-' | '/' | ',')
                        && characters.get(index + 1).is_some_and(char::is_ascii_digit)
                        && characters[index - 1].is_ascii_digit()))
            {
                index += 1;
            }
            let token: String = characters[start..index].iter().collect();
            found.push(drop_thousands_separators(&token));
            continue;
        }
        if chinese_digit(character).is_some() {
            let start = index;
            while index < characters.len() && chinese_digit(characters[index]).is_some() {
                index += 1;
            }
            let run: String = characters[start..index].iter().collect();
            let ordinal = start > 0 && characters[start - 1] == '第';
            if let Some(value) = chinese_value(&run)
                && (value != 1 || ordinal)
                && (run.chars().count() > 1 || ordinal || followed_by_measure(&characters, index))
            {
                found.push(value.to_string());
            }
            continue;
        }
        index += 1;
    }
    found
}

fn drop_thousands_separators(token: &str) -> String {
    let groups: Vec<&str> = token.split(',').collect();
    let grouped = groups.len() > 1
        && groups[0].len() <= 3
        && groups[1..]
            .iter()
            .all(|group| group.len() == 3 && group.bytes().all(|byte| byte.is_ascii_digit()));
    if grouped { groups.concat() } else { token.to_owned() }
}

pub(super) fn chinese_digit(character: char) -> Option<u64> {
    Some(match character {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' | '兩' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' | '萬' => 10_000,
        _ => return None,
    })
}

/// A measure word or unit after a numeral makes it a number ("三个", "五天").
fn followed_by_measure(characters: &[char], index: usize) -> bool {
    characters.get(index).is_some_and(|next| {
        "个個种種天年月日号號点點次条條项項页頁章节節步名位份周週岁歲元倍层層行列块塊分秒小".contains(*next)
    })
}

/// The value of a run of Chinese numerals ("三百二十" is 320, "二〇二六" is 2026).
fn chinese_value(run: &str) -> Option<u64> {
    let digits: Vec<u64> = run.chars().map(chinese_digit).collect::<Option<_>>()?;
    if digits.iter().all(|&digit| digit < 10) {
        return Some(digits.iter().fold(0, |value, digit| value * 10 + digit));
    }
    let (mut total, mut section, mut current) = (0u64, 0u64, 0u64);
    for digit in digits {
        match digit {
            10_000 => {
                total += (section + current).max(1) * 10_000;
                (section, current) = (0, 0);
            }
            10 | 100 | 1000 => {
                section += current.max(1) * digit;
                current = 0;
            }
            _ => current = current * 10 + digit,
        }
    }
    Some(total + section + current)
}
