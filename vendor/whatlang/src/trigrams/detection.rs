use hashbrown::HashMap;

use super::utils::{pack_trigram, top_trigrams_packed};
#[cfg(test)]
use super::utils::{TrigramsWithPositions, get_trigrams_with_positions};
use super::{ARABIC_LANGS, CYRILLIC_LANGS, DEVANAGARI_LANGS, HEBREW_LANGS, LATIN_LANGS};
#[cfg(test)]
use super::LangProfile;
use super::LangProfileList;
use super::{MAX_TOTAL_DISTANCE, MAX_TRIGRAM_DISTANCE, Trigram};
use crate::Lang;
use crate::core::{FilterList, Info, InternalQuery, Text, calculate_confidence};
use crate::scripts::grouping::MultiLangScript;

#[derive(Debug)]
pub struct RawOutcome {
    pub trigrams_count: usize,
    #[allow(dead_code)]
    pub raw_distances: Vec<(Lang, u32)>,
    pub scores: Vec<(Lang, f64)>,
}

#[inline]
pub fn detect(iquery: &InternalQuery) -> Option<Info> {
    let raw_outcome = raw_detect(iquery);
    let RawOutcome {
        trigrams_count,
        scores,
        ..
    } = raw_outcome;

    let mut raw_scores_iter = scores.into_iter();

    let opt_lang_score1 = raw_scores_iter.next();
    let opt_lang_score2 = raw_scores_iter.next();

    // TODO: Logic is duplicated in alphabets. Consider refactoring
    opt_lang_score1.map(|(lang1, score1)| {
        let script = iquery.multi_lang_script.to_script();
        let confidence = if let Some((_, score2)) = opt_lang_score2 {
            calculate_confidence(score1, score2, trigrams_count)
        } else {
            1.0
        };
        Info::new(script, lang1, confidence)
    })
}

#[inline]
pub fn raw_detect(iquery: &InternalQuery) -> RawOutcome {
    let lang_profile_list = script_to_lang_profile_list(iquery.multi_lang_script);
    calculate_scores_in_profiles(&iquery.text, iquery.filter_list, lang_profile_list)
}

fn script_to_lang_profile_list(script: MultiLangScript) -> LangProfileList {
    use MultiLangScript as MLS;
    match script {
        MLS::Latin => LATIN_LANGS,
        MLS::Cyrillic => CYRILLIC_LANGS,
        MLS::Arabic => ARABIC_LANGS,
        MLS::Devanagari => DEVANAGARI_LANGS,
        MLS::Hebrew => HEBREW_LANGS,
    }
}

#[inline]
fn calculate_scores_in_profiles(
    text: &Text,
    filter_list: &FilterList,
    lang_profile_list: LangProfileList,
) -> RawOutcome {
    let mut lang_distances: Vec<(Lang, u32)> = vec![];

    // retrace patch: the distances of all the list's languages in one pass over the text's
    // trigrams (an inverted index of the profiles), instead of one look-up per profile
    // trigram per language. The sums are the same integers as `calculate_distance`'s.
    let top = top_trigrams_packed(&text.lowercase());
    let unique_trigrams_count = top.len();
    let inverted = inverted_index(lang_profile_list);
    let mut sums: Vec<i64> = lang_profile_list
        .iter()
        .map(|(_, p)| p.len() as i64 * MAX_TRIGRAM_DISTANCE as i64)
        .collect();
    for (n, key) in top.iter().enumerate() {
        if let Some(&(lo, hi)) = inverted.map.get(key) {
            for &(l, i) in &inverted.postings[lo as usize..hi as usize] {
                sums[l as usize] += (n as i64 - i as i64).abs() - MAX_TRIGRAM_DISTANCE as i64;
            }
        }
    }

    for (k, &(lang, _)) in lang_profile_list.iter().enumerate() {
        if !filter_list.is_allowed(lang) {
            continue;
        }
        let dist = finish_distance(sums[k] as u32, unique_trigrams_count as u32);
        lang_distances.push(((lang), dist));
    }

    // Sort languages by distance
    lang_distances.sort_unstable_by_key(|(_, dist)| *dist);

    let max_dist = unique_trigrams_count as u32 * MAX_TRIGRAM_DISTANCE;

    let raw_scores = lang_distances
        .iter()
        .map(|&(lang, distance)| (lang, distance_to_raw_score(distance, max_dist)))
        .collect();

    RawOutcome {
        trigrams_count: unique_trigrams_count,
        scores: raw_scores,
        raw_distances: lang_distances,
    }
}

/// retrace patch: profile trigram (packed) -> (language index in the list, rank in its
/// profile).
struct InvertedProfiles {
    map: HashMap<u64, (u32, u32)>,
    postings: Vec<(u16, u16)>,
}

fn build_inverted(list: LangProfileList) -> InvertedProfiles {
    let mut all: Vec<(Trigram, u16, u16)> = Vec::new();
    for (l, (_, profile)) in list.iter().enumerate() {
        for (i, &t) in profile.iter().enumerate() {
            all.push((t, l as u16, i as u16));
        }
    }
    all.sort_unstable();
    let mut map = HashMap::new();
    let mut postings = Vec::with_capacity(all.len());
    for g in all.chunk_by(|x, y| x.0 == y.0) {
        let lo = postings.len() as u32;
        postings.extend(g.iter().map(|x| (x.1, x.2)));
        let Trigram(a, b, c) = g[0].0;
        map.insert(pack_trigram(a, b, c), (lo, postings.len() as u32));
    }
    InvertedProfiles { map, postings }
}

fn inverted_index(list: LangProfileList) -> &'static InvertedProfiles {
    use std::sync::LazyLock;
    static LATIN: LazyLock<InvertedProfiles> = LazyLock::new(|| build_inverted(LATIN_LANGS));
    static CYRILLIC: LazyLock<InvertedProfiles> =
        LazyLock::new(|| build_inverted(CYRILLIC_LANGS));
    static ARABIC: LazyLock<InvertedProfiles> = LazyLock::new(|| build_inverted(ARABIC_LANGS));
    static DEVANAGARI: LazyLock<InvertedProfiles> =
        LazyLock::new(|| build_inverted(DEVANAGARI_LANGS));
    static HEBREW: LazyLock<InvertedProfiles> = LazyLock::new(|| build_inverted(HEBREW_LANGS));
    if std::ptr::eq(list, LATIN_LANGS) {
        &LATIN
    } else if std::ptr::eq(list, CYRILLIC_LANGS) {
        &CYRILLIC
    } else if std::ptr::eq(list, ARABIC_LANGS) {
        &ARABIC
    } else if std::ptr::eq(list, DEVANAGARI_LANGS) {
        &DEVANAGARI
    } else {
        &HEBREW
    }
}

/// The end of `calculate_distance` given the sum of the per-trigram distances.
#[inline]
fn finish_distance(mut total_dist: u32, count: u32) -> u32 {
    if MAX_TRIGRAM_DISTANCE > count {
        let delta = MAX_TRIGRAM_DISTANCE - count;
        total_dist -= delta * MAX_TRIGRAM_DISTANCE;
    }

    total_dist.clamp(0, MAX_TOTAL_DISTANCE)
}

#[cfg(test)]
#[inline]
fn calculate_scores_in_profiles_orig(
    text: &Text,
    filter_list: &FilterList,
    lang_profile_list: LangProfileList,
) -> RawOutcome {
    let mut lang_distances: Vec<(Lang, u32)> = vec![];

    let TrigramsWithPositions {
        trigram_positions, ..
    } = get_trigrams_with_positions(&text.lowercase());
    let unique_trigrams_count = trigram_positions.len();

    for &(lang, lang_trigrams) in lang_profile_list {
        if !filter_list.is_allowed(lang) {
            continue;
        }
        let dist = calculate_distance(lang_trigrams, &trigram_positions);
        lang_distances.push(((lang), dist));
    }

    // Sort languages by distance
    lang_distances.sort_unstable_by_key(|(_, dist)| *dist);

    let max_dist = unique_trigrams_count as u32 * MAX_TRIGRAM_DISTANCE;

    let raw_scores = lang_distances
        .iter()
        .map(|&(lang, distance)| (lang, distance_to_raw_score(distance, max_dist)))
        .collect();

    RawOutcome {
        trigrams_count: unique_trigrams_count,
        scores: raw_scores,
        raw_distances: lang_distances,
    }
}

#[cfg(test)]
#[inline]
fn calculate_distance(lang_trigrams: LangProfile, text_trigrams: &HashMap<Trigram, u32>) -> u32 {
    let mut total_dist = 0u32;

    for (i, &trigram) in lang_trigrams.iter().enumerate() {
        let dist = match text_trigrams.get(&trigram) {
            Some(&n) => (n as i32 - i as i32).unsigned_abs(),
            None => MAX_TRIGRAM_DISTANCE,
        };
        total_dist += dist;
    }

    let count = text_trigrams.len() as u32;

    if MAX_TRIGRAM_DISTANCE > count {
        let delta = MAX_TRIGRAM_DISTANCE - count;
        total_dist -= delta * MAX_TRIGRAM_DISTANCE;
    }

    total_dist.clamp(0, MAX_TOTAL_DISTANCE)
}

#[inline]
fn distance_to_raw_score(distance: u32, max_distance: u32) -> f64 {
    let similarity = max_distance - distance;
    similarity as f64 / max_distance as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_distances_equal_the_original() {
        let texts = [
            "Die Ordnung muss für immer in diesem Codebase bleiben",
            "The quick brown fox jumps over the lazy dog, again and again.",
            "Министр заявил в среду, что правительство не изменит свои планы.",
            "a",
            "Ráðherrann sagði á miðvikudag að ríkisstjórnin myndi ekki breyta.",
        ];
        for text in texts {
            for (script, list) in [
                (MultiLangScript::Latin, LATIN_LANGS),
                (MultiLangScript::Cyrillic, CYRILLIC_LANGS),
            ] {
                let t = Text::new(text);
                let fl = FilterList::default();
                let a = calculate_scores_in_profiles(&t, &fl, list);
                let b = calculate_scores_in_profiles_orig(&t, &fl, list);
                assert_eq!(a.raw_distances, b.raw_distances, "{text} {script:?}");
                assert_eq!(a.scores, b.scores);
            }
        }
    }

    #[test]
    fn test_when_german_is_given() {
        let text = "Die Ordnung muss für immer in diesem Codebase bleiben";
        let iq = InternalQuery {
            text: Text::new(text),
            filter_list: &FilterList::default(),
            multi_lang_script: MultiLangScript::Latin,
        };
        let raw_outcome = raw_detect(&iq);

        assert_eq!(raw_outcome.trigrams_count, 50);

        let &(first_lang, first_score) = raw_outcome.scores.first().unwrap();
        let &(_last_lang, last_score) = raw_outcome.scores.last().unwrap();

        assert_eq!(first_lang, Lang::Deu);

        assert!(first_score >= 0.0);
        assert!(first_score <= 1.0);

        assert!(last_score >= 0.0);
        assert!(last_score <= 1.0);
    }
}
