//! Texts of JSONL collections named in an environment variable, for the checks that tests
//! run by hand on real collections (`cargo test --release -p retrace NAME -- --ignored`).

/// The `text` of every record of the JSONL files in environment variable `var` (paths
/// separated by `:`), or `None` when it is not set.
pub fn jsonl_texts(var: &str) -> Option<Vec<String>> {
    let paths = std::env::var(var).ok()?;
    let mut texts = Vec::new();
    for path in paths.split(':') {
        let f = std::fs::read_to_string(path).expect("readable file");
        for record in f.lines() {
            let v: serde_json::Value = serde_json::from_str(record).expect("JSON");
            texts.push(v["text"].as_str().unwrap_or("").to_string());
        }
    }
    Some(texts)
}
