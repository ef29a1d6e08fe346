//! Language identification over JSON lines on stdin (each a string or an object with
//! "text"), one `code<TAB>confidence` line out per input, docs/s on stderr; used by
//! bench/langid.py. `langid [identify|whatlang|model PATH]`: the identifier scan uses, the
//! whatlang one (the fallback), or a fastText model file on each whole text (as fastText's
//! `predict` sees it, newlines as spaces), for checking the reader against fastText's own.

use std::io::{BufRead, Write};

use retrace::prepare::langid::{self, fasttext, Identifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("identify", |s| s.as_str());
    let model = match mode {
        "model" => {
            let path = args.get(1).ok_or("model needs a path")?;
            Some(fasttext::Model::from_bytes(&std::fs::read(path)?)?)
        }
        "identify" => {
            if langid::init(None)? != Identifier::FastText {
                eprintln!("warning: {} not installed; whatlang only", langid::MODEL);
            }
            None
        }
        "whatlang" => None,
        m => return Err(format!("unknown mode {m:?}").into()),
    };
    let mut texts = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            v => v["text"].as_str().ok_or("no text")?.to_string(),
        };
        texts.push(text);
    }
    let start = std::time::Instant::now();
    let out: Vec<(String, f64)> = texts
        .iter()
        .map(|t| match (&model, mode) {
            (Some(m), _) => m.predict(t).map_or(("und".into(), 0.0), |p| {
                (m.labels()[p.label].clone(), p.probability as f64)
            }),
            (None, "whatlang") => {
                let g = langid::identify_with(Identifier::Whatlang, t);
                (g.code.to_string(), g.confidence)
            }
            _ => {
                let g = langid::identify(t);
                (g.code.to_string(), g.confidence)
            }
        })
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let mut stdout = std::io::stdout().lock();
    for (code, p) in out {
        writeln!(stdout, "{code}\t{p:.6}")?;
    }
    eprintln!(
        "{} texts in {:.3} s: {:.0} texts/s",
        texts.len(),
        secs,
        texts.len() as f64 / secs
    );
    Ok(())
}
