//! Checks on the embedded UI that need no browser: every reference stays on the appliance, no
//! inline script, every module import resolves to an embedded module exporting the imported
//! names, only `api.js` talks to the server, and every UI string exists in both languages.

use std::collections::BTreeSet;

use super::{ASSETS, Asset, INDEX_HTML, asset};

/// The SVG namespace is a name, never fetched.
const SVG_NAMESPACE: &str = "\"http://www.w3.org/2000/svg\"";
const ENTRY: &str = "/assets/js/main.js";
const STRINGS_MODULE: &str = "/assets/js/i18n.js";
const API_MODULE: &str = "/assets/js/api.js";

fn modules() -> impl Iterator<Item = &'static Asset> {
    ASSETS.iter().filter(|asset| asset.path.ends_with(".js"))
}

fn is_identifier_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_' || character == '$'
}

/// The values of every `name="..."` attribute in `html`.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let opening = format!(" {name}=\"");
    html.match_indices(&opening)
        .map(|(at, _)| {
            let value = &html[at + opening.len()..];
            &value[..value.find('"').expect("a closed attribute")]
        })
        .collect()
}

/// One `import ... from "specifier"` statement.
#[derive(Debug)]
struct Import<'a> {
    specifier: &'a str,
    /// The imported names (`default` for a default import); empty for `* as` and bare imports.
    names: Vec<&'a str>,
}

/// The static import statements of a module, each starting a line.
fn imports(source: &str) -> Vec<Import<'_>> {
    let mut found = Vec::new();
    for (start, _) in source.match_indices("import") {
        let at_line_start = start == 0 || source[..start].ends_with('\n');
        let statement = &source[start..];
        let keyword_alone = statement["import".len()..].starts_with([' ', '{', '"', '\'']);
        if !at_line_start || !keyword_alone {
            continue;
        }
        let statement =
            &statement[.."import".len() + statement["import".len()..].find(';').expect("a `;` after an import")];
        let (clause, quoted) = match statement.rfind(" from ") {
            Some(from) => (&statement["import".len()..from], &statement[from + " from ".len()..]),
            None => ("", &statement["import".len()..]),
        };
        let quoted = quoted.trim();
        let unquoted = quoted
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .or_else(|| quoted.strip_prefix('\'').and_then(|rest| rest.strip_suffix('\'')));
        let specifier = unquoted.unwrap_or_else(|| panic!("unreadable import: {statement}"));
        let clause = clause.trim();
        let names = if let Some(list) = clause.strip_prefix('{') {
            let list = list
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unreadable import: {statement}"));
            list.split(',')
                .map(|name| name.split_whitespace().next().unwrap_or(""))
                .filter(|name| !name.is_empty())
                .collect()
        } else if clause.is_empty() || clause.starts_with('*') {
            Vec::new()
        } else {
            vec!["default"]
        };
        found.push(Import { specifier, names });
    }
    found
}

/// The names a module exports: `export [async] function|const|let|class NAME`,
/// `export { a, b as c }` and `export default`.
fn exports(source: &str) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    for line in source.lines() {
        let Some(declaration) = line.strip_prefix("export ") else {
            continue;
        };
        if declaration.starts_with("default") {
            names.insert("default");
        } else if let Some(list) = declaration.strip_prefix('{') {
            let list = &list[..list.find('}').expect("a closed export list")];
            for entry in list.split(',') {
                if let Some(name) = entry.split_whitespace().last() {
                    names.insert(name);
                }
            }
        } else {
            let declaration = declaration.strip_prefix("async ").unwrap_or(declaration);
            let named = ["function ", "const ", "let ", "class "]
                .iter()
                .find_map(|keyword| declaration.strip_prefix(keyword));
            if let Some(rest) = named {
                let end = rest
                    .find(|character| !is_identifier_char(character))
                    .unwrap_or(rest.len());
                names.insert(&rest[..end]);
            }
        }
    }
    names
}

/// The path a relative module specifier names, seen from the module at `from`.
fn resolve(from: &str, specifier: &str) -> String {
    assert!(
        specifier.starts_with("./") || specifier.starts_with("../"),
        "{from} imports {specifier:?}: a browser without an import map needs a relative path"
    );
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for segment in specifier.split('/') {
        match segment {
            "." => {}
            ".." => {
                assert!(parts.len() > 1, "{from} imports {specifier:?}, above the root");
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    parts.join("/")
}

/// The keys of one language's block in the string table, `LANGUAGE: { key: "text", ... }`, in
/// order and with any duplicates. Panics on anything else inside the block.
fn table_keys(source: &str, language: &str) -> Vec<String> {
    let opening = format!("{language}: {{");
    let start = source.find(&opening).unwrap_or_else(|| panic!("no {language} block")) + opening.len();
    let bytes = source.as_bytes();
    let mut index = start;
    let mut keys = Vec::new();
    loop {
        while index < bytes.len() && (bytes[index].is_ascii_whitespace() || bytes[index] == b',') {
            index += 1;
        }
        assert!(index < bytes.len(), "the {language} block is not closed");
        if bytes[index] == b'}' {
            return keys;
        }
        let key_start = index;
        while index < bytes.len() && is_identifier_char(char::from(bytes[index])) {
            index += 1;
        }
        let key = &source[key_start..index];
        assert!(
            !key.is_empty(),
            "unreadable entry in the {language} block at {:?}",
            source[key_start..].chars().take(40).collect::<String>()
        );
        while index < bytes.len() && bytes[index].is_ascii_whitespace() {
            index += 1;
        }
        assert!(
            bytes.get(index) == Some(&b':'),
            "no `:` after {key} in the {language} block"
        );
        index += 1;
        while index < bytes.len() && bytes[index].is_ascii_whitespace() {
            index += 1;
        }
        assert!(
            bytes.get(index) == Some(&b'"'),
            "the {language} text of {key} is not a \"string\""
        );
        index += 1;
        while index < bytes.len() && bytes[index] != b'"' {
            index += if bytes[index] == b'\\' { 2 } else { 1 };
        }
        assert!(index < bytes.len(), "the {language} text of {key} is not closed");
        index += 1;
        keys.push(key.to_owned());
    }
}

/// The keys a module looks up with a literal, `t("key")` or `t("key", ...)`.
fn used_keys(source: &str) -> BTreeSet<&str> {
    let mut keys = BTreeSet::new();
    for (at, call) in source.match_indices("t(\"") {
        let before = source[..at].chars().next_back();
        if before.is_some_and(|character| is_identifier_char(character) || character == '.') {
            continue;
        }
        let rest = &source[at + call.len()..];
        let Some(end) = rest.find('"') else {
            continue;
        };
        if rest[end + 1..].starts_with([')', ',']) {
            keys.insert(&rest[..end]);
        }
    }
    keys
}

/// The keys index.html names in `data-i18n`, `data-i18n-placeholder` and `data-i18n-title`.
fn page_keys(html: &str) -> BTreeSet<&str> {
    ["data-i18n", "data-i18n-placeholder", "data-i18n-title"]
        .iter()
        .flat_map(|attribute| attribute_values(html, attribute))
        .collect()
}

/// Every used key missing from a language, as `language: key`.
fn missing_keys<'a>(used: impl IntoIterator<Item = &'a str>, tables: &[(&str, Vec<String>)]) -> Vec<String> {
    let mut missing = Vec::new();
    for key in used {
        for (language, keys) in tables {
            if !keys.iter().any(|known| known == key) {
                missing.push(format!("{language}: {key}"));
            }
        }
    }
    missing
}

fn string_tables() -> Vec<(&'static str, Vec<String>)> {
    let source = asset(STRINGS_MODULE).expect("the string table is embedded").body;
    vec![("zh", table_keys(source, "zh")), ("en", table_keys(source, "en"))]
}

#[test]
fn page_loads_only_local_assets() {
    let files = std::iter::once(("/", INDEX_HTML)).chain(ASSETS.iter().map(|asset| (asset.path, asset.body)));
    for (path, body) in files {
        let body = body.replace(SVG_NAMESPACE, "");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "external reference in {path}"
        );
        assert!(!body.contains("javascript:"), "javascript: URL in {path}");
    }
    let references: Vec<&str> = ["src", "href"]
        .iter()
        .flat_map(|attribute| attribute_values(INDEX_HTML, attribute))
        .collect();
    assert!(references.contains(&ENTRY) && references.contains(&"/assets/app.css"));
    for reference in references {
        assert!(
            reference.starts_with('/') && !reference.starts_with("//"),
            "{reference} is not a path on the appliance"
        );
        if reference.starts_with("/assets/") {
            assert!(
                asset(reference).is_some(),
                "index.html loads {reference}, which is not embedded"
            );
        }
    }
}

#[test]
fn index_html_has_no_inline_script() {
    let scripts: Vec<(usize, &str)> = INDEX_HTML.match_indices("<script").collect();
    assert_eq!(scripts.len(), 1, "one script, the entry module");
    assert!(INDEX_HTML.contains(&format!("<script type=\"module\" src=\"{ENTRY}\"></script>")));
    for (at, _) in scripts {
        let tag = &INDEX_HTML[at..];
        let end = tag.find('>').expect("a closed tag");
        assert!(tag[..end].contains(" src=\""), "inline scripts are blocked by the CSP");
        assert!(
            tag[end + 1..].starts_with("</script>"),
            "inline scripts are blocked by the CSP"
        );
    }
    for (at, _) in INDEX_HTML.match_indices(" on") {
        let rest = &INDEX_HTML[at + " on".len()..];
        let name_end = rest
            .find(|character: char| !character.is_ascii_lowercase())
            .unwrap_or(rest.len());
        assert!(
            name_end == 0 || !rest[name_end..].starts_with('='),
            "inline event handler on{}",
            &rest[..name_end]
        );
    }
}

#[test]
fn assets_have_unique_paths_and_the_right_types() {
    let paths: BTreeSet<&str> = ASSETS.iter().map(|asset| asset.path).collect();
    assert_eq!(paths.len(), ASSETS.len(), "duplicate asset path");
    for asset in ASSETS {
        assert!(asset.path.starts_with("/assets/"), "{}", asset.path);
        let expected = if asset.path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if asset.path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            panic!("no content type known for {}", asset.path)
        };
        assert_eq!(asset.content_type, expected, "{}", asset.path);
        assert!(!asset.body.is_empty(), "{} is empty", asset.path);
    }
    assert_eq!(asset(ENTRY).map(|found| found.path), Some(ENTRY));
    assert!(asset("/assets/app.js").is_none() && asset("/assets/js/missing.js").is_none());
}

#[test]
fn every_import_resolves_to_an_embedded_export() {
    for module in modules() {
        for import in imports(module.body) {
            let target_path = resolve(module.path, import.specifier);
            let target = asset(&target_path)
                .unwrap_or_else(|| panic!("{} imports {target_path}, which is not embedded", module.path));
            assert!(
                target_path.ends_with(".js"),
                "{} imports {target_path}, not a module",
                module.path
            );
            let exported = exports(target.body);
            for name in import.names {
                assert!(
                    exported.contains(name),
                    "{} imports {name} from {target_path}, which does not export it",
                    module.path
                );
            }
        }
    }
}

#[test]
fn every_module_is_reachable_from_the_entry() {
    let mut reached = BTreeSet::from([ENTRY.to_owned()]);
    let mut pending = vec![ENTRY.to_owned()];
    while let Some(path) = pending.pop() {
        let module = asset(&path).unwrap_or_else(|| panic!("{path} is not embedded"));
        for import in imports(module.body) {
            let target = resolve(&path, import.specifier);
            if reached.insert(target.clone()) {
                pending.push(target);
            }
        }
    }
    for module in modules() {
        assert!(
            reached.contains(module.path),
            "{} is embedded but never imported",
            module.path
        );
    }
}

#[test]
fn the_module_parsers_read_what_they_should() {
    let source = "import { a, b as c } from \"./x.js\";\nimport {\n  d,\n} from '../y.js';\n\
                  import \"./side.js\";\nconst importance = 1;\n// import { no } from \"./comment.js\";\n";
    let found = imports(source);
    let specifiers: Vec<&str> = found.iter().map(|import| import.specifier).collect();
    assert_eq!(specifiers, ["./x.js", "../y.js", "./side.js"]);
    assert_eq!(found[0].names, ["a", "b"]);
    assert_eq!(found[1].names, ["d"]);
    assert!(found[2].names.is_empty());
    let exported = exports("export const a = 1;\nexport async function b() {}\nexport { c, d as e };\nconst f = 2;\n");
    assert_eq!(exported, BTreeSet::from(["a", "b", "c", "e"]));
    assert_eq!(resolve("/assets/js/main.js", "./api.js"), "/assets/js/api.js");
    assert_eq!(resolve("/assets/js/area/users.js", "../dom.js"), "/assets/js/dom.js");
}

#[test]
fn only_the_api_module_talks_to_the_server() {
    for module in modules().filter(|module| module.path != API_MODULE) {
        for call in ["fetch(", "getReader(", "EventSource", "XMLHttpRequest", "sendBeacon"] {
            assert!(
                !module.body.contains(call),
                "{} uses {call}; requests belong in api.js",
                module.path
            );
        }
    }
}

#[test]
fn no_module_writes_markup() {
    for module in modules() {
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"] {
            assert!(
                !module.body.contains(sink),
                "{} uses {sink}; text goes in through textContent",
                module.path
            );
        }
    }
}

#[test]
fn the_string_table_has_one_block_per_language() {
    let blocks = |opening: &str| {
        modules()
            .map(|module| module.body.matches(opening).count())
            .sum::<usize>()
    };
    assert_eq!((blocks("zh: {"), blocks("en: {")), (1, 1));
    let tables = string_tables();
    for (language, keys) in &tables {
        let distinct: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(
            distinct.len(),
            keys.len(),
            "a key appears twice in the {language} block"
        );
    }
    let zh: BTreeSet<&String> = tables[0].1.iter().collect();
    let en: BTreeSet<&String> = tables[1].1.iter().collect();
    assert_eq!(
        zh.symmetric_difference(&en).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "keys in one language only"
    );
}

#[test]
fn every_ui_string_has_both_languages() {
    let mut used: BTreeSet<&str> = modules().flat_map(|module| used_keys(module.body)).collect();
    assert!(used.len() > 30, "the t(\"...\") scan found only {} keys", used.len());
    used.extend(page_keys(INDEX_HTML));
    assert_eq!(missing_keys(used, &string_tables()), Vec::<String>::new());
}

#[test]
fn the_key_check_catches_a_missing_key() {
    let source = "el(\"b\", t(\"title\")); alert(t(\"noSuchKey\", 1)); prompt(\"x\"); at(\"y\"); this.t(\"z\");";
    assert_eq!(used_keys(source), BTreeSet::from(["noSuchKey", "title"]));
    assert_eq!(
        missing_keys(used_keys(source), &string_tables()),
        ["zh: noSuchKey", "en: noSuchKey"]
    );
    let table = "const STRINGS = {\n  zh: { one: \"一\", two: \"二 {n} \\\"\" },\n  en: { one: \"one\" },\n};";
    let tables = [("zh", table_keys(table, "zh")), ("en", table_keys(table, "en"))];
    assert_eq!(tables[0].1, ["one", "two"]);
    assert_eq!(missing_keys(["one", "two"], &tables), ["en: two"]);
    let html = "<p data-i18n=\"a\"></p><input data-i18n-placeholder=\"b\"><b data-i18n-title=\"c\">";
    assert_eq!(page_keys(html), BTreeSet::from(["a", "b", "c"]));
}
