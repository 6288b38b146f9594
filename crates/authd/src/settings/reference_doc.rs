//! docs/configuration.md against the settings: every key is documented
//! with its environment variable and the default that `authd config print`
//! shows, and the document names no key that does not exist.

use std::{collections::BTreeMap, path::Path};

use super::Settings;

/// Every key of the default settings, dotted (`mail.smtp.host`), with its
/// value as `config print` writes it, or `None` when it is unset and so
/// not printed.
fn printed_defaults() -> BTreeMap<String, Option<String>> {
    let settings = Settings::default();
    let printed: toml::Table = toml::from_str(&settings.to_toml().unwrap()).unwrap();
    let mut values = BTreeMap::new();
    flatten_toml("", &printed, &mut values);
    // TOML leaves unset keys out; JSON, through the same `Serialize`
    // impls, keeps them as null, so it lists every key.
    let mut keys = Vec::new();
    json_keys("", &serde_json::to_value(&settings).unwrap(), &mut keys);
    let defaults: BTreeMap<String, Option<String>> = keys
        .into_iter()
        .map(|key| {
            let value = values.remove(&key);
            (key, value)
        })
        .collect();
    assert!(values.is_empty(), "printed but not serialized: {values:?}");
    defaults
}

fn flatten_toml(prefix: &str, table: &toml::Table, into: &mut BTreeMap<String, String>) {
    for (key, value) in table {
        let key = format!("{prefix}{key}");
        match value {
            toml::Value::Table(table) => flatten_toml(&format!("{key}."), table, into),
            value => {
                into.insert(key, value.to_string());
            }
        }
    }
}

fn json_keys(prefix: &str, value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, value) in fields {
                json_keys(&format!("{prefix}{key}."), value, into);
            }
        }
        _ => into.push(prefix.trim_end_matches('.').to_owned()),
    }
}

/// One row of a table of the document.
#[derive(Debug)]
struct Row {
    environment: String,
    default: String,
}

/// The rows of the document by dotted key: a row's key is dotted with the
/// `[section]` of the heading above its table.
fn documented(text: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    let mut section: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            section = line
                .trim_start_matches('#')
                .trim()
                .strip_prefix('[')
                .and_then(|name| name.strip_suffix(']'));
            continue;
        }
        if !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, key, environment, default, _meaning, _] = cells[..] else {
            panic!("a row of four cells: {line}");
        };
        let section = section.unwrap_or_else(|| panic!("a row under no [section]: {line}"));
        let key = format!("{section}.{}", key.trim_matches('`'));
        let row = Row {
            environment: environment.to_owned(),
            default: default.to_owned(),
        };
        assert!(rows.insert(key, row).is_none(), "a key twice: {line}");
    }
    rows
}

/// Every difference between the document and the settings.
fn drift(text: &str) -> Vec<String> {
    let mut rows = documented(text);
    let mut problems = Vec::new();
    for (key, value) in printed_defaults() {
        let Some(row) = rows.remove(&key) else {
            problems.push(format!("{key}: no row"));
            continue;
        };
        let variable = format!("`AUTHD__{}`", key.to_uppercase().replace('.', "__"));
        if !row.environment.contains(&variable) {
            problems.push(format!("{key}: {variable} not in {:?}", row.environment));
        }
        let default = value.map_or_else(|| "unset".to_owned(), |value| format!("`{value}`"));
        if row.default != default {
            problems.push(format!(
                "{key}: default {:?}, printed {default:?}",
                row.default
            ));
        }
    }
    problems.extend(rows.keys().map(|key| format!("{key}: no such setting")));
    problems
}

fn document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_document_lists_every_setting_with_its_variable_and_printed_default() {
    let problems = drift(&document());
    assert!(
        problems.is_empty(),
        "docs/configuration.md has drifted from the settings:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_document_names_database_url_beside_its_own_variable() {
    let rows = documented(&document());
    assert!(rows["database.url"].environment.contains("`DATABASE_URL`"));
}

#[test]
fn a_missing_row_a_wrong_default_and_an_unknown_key_are_drift() {
    let text = document();
    let without_bind: String = text
        .lines()
        .filter(|line| !line.starts_with("| `bind` |"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(drift(&without_bind), ["server.bind: no row"]);
    let wrong_default = text.replace("| `16` |", "| `32` |");
    assert_eq!(
        drift(&wrong_default),
        ["database.max_connections: default \"`32`\", printed \"`16`\""]
    );
    let unknown = text.replace("| `workers` |", "| `threads` |");
    assert_eq!(
        drift(&unknown),
        ["server.workers: no row", "server.threads: no such setting"]
    );
}
