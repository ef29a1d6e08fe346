//! Helpers for the unit tests: a small corpus (the repository's example collection) and
//! documents prepared as a scan prepares them.

use crate::document::Document;
use crate::prepare::{prepare_corpus, PrepareOptions, Prepared};
use crate::progress::NoProgress;

/// The documents prepared with the default options.
pub fn prepared(docs: &[Document]) -> Vec<Prepared> {
    prepare_corpus(docs, &PrepareOptions::default(), &NoProgress).docs
}

/// The example collection of `examples/news`: an article (0), its republication under a
/// site's header and footer (1), an excerpt of it (2), and two unrelated articles from the
/// same site (3, 4).
pub fn news() -> Vec<Document> {
    vec![
        Document::new(
            "harbour-original.txt",
            include_str!("../../../examples/news/harbour-original.txt"),
        ),
        Document::new(
            "coastal-news-republished.txt",
            include_str!("../../../examples/news/coastal-news-republished.txt"),
        ),
        Document::new(
            "weekly-digest-excerpt.md",
            include_str!("../../../examples/news/weekly-digest-excerpt.md"),
        ),
        Document::new(
            "coastal-news-festival.txt",
            include_str!("../../../examples/news/coastal-news-festival.txt"),
        ),
        Document::new(
            "coastal-news-library.html",
            crate::ingest::html::html_to_text(include_str!(
                "../../../examples/news/coastal-news-library.html"
            ))
            .text,
        ),
    ]
}

/// An English article, its French translation, an English rewrite of it and an unrelated
/// English text, with a stub encoder whose dictionary reads the French words and the
/// rewrite's synonyms as the article's words.
pub fn bilingual() -> (Vec<Document>, retrace_encode::stub::HashEncoder) {
    let en = "The town council voted on Tuesday to rebuild the old sea wall. \
        The storms of January destroyed a large part of the wall near the fish market. \
        The mayor said the work would start in the spring and cost four million euros. \
        Fishermen welcomed the decision after waiting for many months. \
        Engineers expect the new wall to last at least a hundred years.";
    let fr = "Le conseil municipal a voté mardi pour reconstruire la vieille digue. \
        Les tempêtes de janvier ont détruit une grande partie de la digue près du marché aux poissons. \
        Le maire a dit que les travaux commenceraient au printemps et coûteraient quatre millions d'euros. \
        Les pêcheurs ont salué la décision après avoir attendu pendant de longs mois. \
        Les ingénieurs pensent que la nouvelle digue durera au moins cent ans.";
    let rewrite =
        "On Tuesday the municipal council decided to reconstruct the ancient sea barrier. \
        January storms ruined a big section of the barrier close to the fish market. \
        According to the mayor, construction begins in spring at a price of four million euros. \
        After months of waiting, the fishermen praised the choice. \
        Engineers believe the new barrier will endure for a century at least.";
    let other = "A new bakery opened in the main square this week, selling bread and cakes. \
        Its owner trained in Lyon for ten years before coming back to her home town. \
        Customers queued from early morning to taste the famous apple pie. \
        The bakery will open every day except Monday.";
    let dictionary: &[(&str, &str)] = &[
        ("le", "the"),
        ("la", "the"),
        ("les", "the"),
        ("conseil", "council"),
        ("municipal", "town"),
        ("a", "to"),
        ("voté", "voted"),
        ("mardi", "tuesday"),
        ("pour", "to"),
        ("reconstruire", "rebuild"),
        ("vieille", "old"),
        ("digue", "wall"),
        ("tempêtes", "storms"),
        ("de", "of"),
        ("janvier", "january"),
        ("ont", "of"),
        ("détruit", "destroyed"),
        ("une", "a"),
        ("grande", "large"),
        ("partie", "part"),
        ("près", "near"),
        ("du", "the"),
        ("marché", "market"),
        ("aux", "the"),
        ("poissons", "fish"),
        ("maire", "mayor"),
        ("dit", "said"),
        ("que", "the"),
        ("travaux", "work"),
        ("commenceraient", "start"),
        ("au", "in"),
        ("printemps", "spring"),
        ("et", "and"),
        ("coûteraient", "cost"),
        ("quatre", "four"),
        ("millions", "million"),
        ("d", "of"),
        ("euros", "euros"),
        ("pêcheurs", "fishermen"),
        ("salué", "welcomed"),
        ("décision", "decision"),
        ("après", "after"),
        ("avoir", "waiting"),
        ("attendu", "waiting"),
        ("pendant", "for"),
        ("longs", "many"),
        ("mois", "months"),
        ("ingénieurs", "engineers"),
        ("pensent", "expect"),
        ("nouvelle", "new"),
        ("durera", "last"),
        ("moins", "least"),
        ("cent", "hundred"),
        ("ans", "years"),
        // The rewrite's synonyms.
        ("municipal", "town"),
        ("decided", "voted"),
        ("reconstruct", "rebuild"),
        ("ancient", "old"),
        ("barrier", "wall"),
        ("ruined", "destroyed"),
        ("big", "large"),
        ("section", "part"),
        ("close", "near"),
        ("construction", "work"),
        ("begins", "start"),
        ("price", "cost"),
        ("praised", "welcomed"),
        ("choice", "decision"),
        ("believe", "expect"),
        ("endure", "last"),
        ("century", "hundred"),
    ];
    let encoder = retrace_encode::stub::HashEncoder::new(256)
        .with_dictionary(dictionary)
        .with_languages(&["en", "fr"]);
    let docs = vec![
        Document::new("en", en),
        Document::new("fr", fr),
        Document::new("rewrite", rewrite),
        Document::new("other", other),
    ];
    (docs, encoder)
}
