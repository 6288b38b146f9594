//! Where a database URL points.

use std::path::PathBuf;

/// The file a database URL names. Accepts `sqlite://relative/path.db`,
/// `sqlite:///absolute/path.db`, `sqlite:path.db` and a bare path; `None`
/// for an empty path or an in-memory database, which this store does not
/// support (an auth store must outlive its process).
pub(crate) fn database_path(url: &str) -> Option<PathBuf> {
    let url = url.trim();
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return None;
    }
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let cases = [
            ("sqlite://data/authd.db", Some("data/authd.db")),
            ("sqlite:///var/lib/authd.db", Some("/var/lib/authd.db")),
            ("sqlite:authd.db", Some("authd.db")),
            ("sqlite:/abs/authd.db", Some("/abs/authd.db")),
            ("data/authd.db", Some("data/authd.db")),
            ("/abs/authd.db", Some("/abs/authd.db")),
            (" sqlite://x.db ", Some("x.db")),
            ("sqlite://", None),
            ("sqlite::memory:", None),
            (":memory:", None),
            ("file:x.db?mode=memory", None),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(database_path(url), want.map(PathBuf::from), "{url}");
        }
    }
}
