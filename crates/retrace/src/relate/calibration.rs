//! Calibration: the thresholds by meaning, as one named table per encoder family.
//!
//! Encoders differ in how similar unrelated sentences look (USE-m3 places them near 0, e5
//! models near 0.8), so every threshold that reads a cosine is calibrated per family on the
//! dev collection, by a grid search for the best F1 at precision ≥ 0.97 (README,
//! "Thresholds"). A scan picks the table from the encoder's declared identity
//! ([`Encoder::family`](retrace_encode::Encoder::family)), never from its name; options can
//! still override single thresholds.

use super::event::{EventWeights, SAME_EVENT_WEIGHTS};
use super::stories::StoryOptions;
use super::SemanticOptions;
use crate::align::sentences::SemAlignOptions;
use retrace_encode::Family;
use serde::{Deserialize, Serialize};

/// Every threshold by meaning, for one encoder family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Sentence alignment: when a pair of sentences makes a bead.
    pub sentences: SemAlignOptions,
    /// Rewrites, translations and same-story pairs.
    pub relations: SemanticOptions,
    /// When a same-story link joins two stories.
    pub stories: StoryOptions,
    /// How the same-event score weighs the cosines of this encoder.
    pub event: EventWeights,
    /// Document-vector cosine below which neighbours are not considered.
    pub neighbor_min_cos: f32,
}

/// USE-m3 (`use-m3`): unrelated sentences score near 0.
pub const USE_M3: Calibration = Calibration {
    sentences: SemAlignOptions {
        min_sim: 0.55,
        merge_penalty: 0.05,
        margin: None,
    },
    relations: SemanticOptions {
        min_coverage: 0.7,
        min_coverage_other: 0.2,
        min_mean_sim: 0.55,
        rewrite_min_mean_sim: 0.65,
        rewrite_partial_min_mean_sim: 0.7,
        rewrite_full_coverage: 0.9,
        single_bead_min_sim: 0.0,
        few_beads: 0,
        few_beads_min_sim: 0.0,
        partial_min_beads: 3,
        partial_min_mean_sim: 0.7,
        partial_min_coverage: 0.1,
        partial_full_beads: 5,
        partial_few_coverage: 0.3,
        partial_few_min_sim: 0.75,
        thin_max_tokens: 10,
        thin_min_sim: 0.9,
        excerpt_min_beads: 2,
        excerpt_min_tokens: 20,
        excerpt_single_min_sim: 0.9,
        excerpt_single_min_tokens: 25,
        excerpt_max_symmetry: 0.65,
        excerpt_min_sim: 0.72,
        excerpt_max_coverage: 0.8,
        excerpt_full_sim: 0.85,
        excerpt_min_coverage: 0.3,
        paraphrase_min_mean_coverage: 0.5,
        paraphrase_min_coverage_other: 0.2,
        paraphrase_min_sim: 0.7,
        paraphrase_min_containment: 0.25,
        story_min_cos: 0.5,
        story_min_entities: 0.0,
        story_min_event: 0.95,
    },
    // Same-story pairs are reports of one event (`story_min_event`): a link needs names
    // and numbers in common besides.
    stories: StoryOptions {
        min_link_cos: 0.5,
        min_link_entities: 0.3,
    },
    event: SAME_EVENT_WEIGHTS,
    neighbor_min_cos: 0.3,
};

/// multilingual-e5 (`e5-small`): unrelated sentences score near 0.8, so a bead must also
/// stand out from the pair's background by a margin, and few beads are thin evidence.
pub const E5: Calibration = Calibration {
    sentences: SemAlignOptions {
        min_sim: 0.8,
        merge_penalty: 0.05,
        margin: Some(0.06),
    },
    relations: SemanticOptions {
        min_coverage: 0.8,
        min_coverage_other: 0.2,
        min_mean_sim: 0.85,
        rewrite_min_mean_sim: 0.93,
        rewrite_partial_min_mean_sim: 0.7,
        rewrite_full_coverage: 0.9,
        single_bead_min_sim: 0.95,
        few_beads: 3,
        few_beads_min_sim: 0.9,
        partial_min_beads: 4,
        partial_min_mean_sim: 0.87,
        partial_min_coverage: 0.2,
        partial_full_beads: 5,
        partial_few_coverage: 0.55,
        partial_few_min_sim: 0.95,
        thin_max_tokens: 10,
        thin_min_sim: 0.95,
        excerpt_min_beads: 5,
        excerpt_min_tokens: 20,
        excerpt_single_min_sim: 2.0,
        excerpt_single_min_tokens: 25,
        excerpt_max_symmetry: 0.65,
        excerpt_min_sim: 0.84,
        excerpt_max_coverage: 0.6,
        excerpt_full_sim: 0.93,
        excerpt_min_coverage: 0.5,
        // Not calibrated for e5: off.
        paraphrase_min_mean_coverage: 0.5,
        paraphrase_min_coverage_other: 0.2,
        paraphrase_min_sim: 2.0,
        paraphrase_min_containment: 0.25,
        story_min_cos: 0.92,
        story_min_entities: 0.5,
        story_min_event: 0.95,
    },
    stories: StoryOptions {
        min_link_cos: 0.92,
        min_link_entities: 0.6,
    },
    event: E5_EVENT_WEIGHTS,
    neighbor_min_cos: 0.7,
};

/// e5's same-event weights, fitted like USE-m3's on half of the SemEval-2022 Task 8 training
/// pairs, scored with `retrace compare --pairs --encoder e5-small --fallback-encoder none`
/// (Pearson with the gold scores 0.641 over all pairs, against USE-m3's 0.753). The whole
/// texts are not read: e5 embeds them at ~3 texts/s on two cores, and e5's cosines of
/// unrelated documents lie high, so the first sentences carry the weight.
pub const E5_EVENT_WEIGHTS: EventWeights = EventWeights {
    bias: -14.96,
    cos: 2.62,
    text: 0.0,
    first: 13.57,
    names: 2.45,
    numbers: 0.76,
};

/// The tables by name.
pub const CALIBRATIONS: &[(&str, &Calibration)] = &[("use-m3", &USE_M3), ("e5", &E5)];

impl Calibration {
    /// The table for an encoder family. Hugging Face transformers of unknown calibration get
    /// the e5 table, the closest in kind (mean-pooled transformers place unrelated sentences
    /// high); the test encoder gets USE-m3's (its unrelated sentences score near 0).
    pub fn for_family(family: Family) -> &'static Calibration {
        match family {
            Family::UseM3 | Family::Stub => &USE_M3,
            Family::E5 | Family::Transformer => &E5,
        }
    }

    /// The table for an encoder, by its declared family.
    pub fn for_encoder(encoder: &dyn retrace_encode::Encoder) -> Calibration {
        Calibration::for_family(encoder.family()).clone()
    }

    /// The table named `name` (see [`CALIBRATIONS`]).
    pub fn named(name: &str) -> Option<&'static Calibration> {
        CALIBRATIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }
}

impl Default for Calibration {
    /// The USE-m3 table (the default encoder's).
    fn default() -> Self {
        USE_M3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_chosen_by_family_and_name() {
        assert_eq!(Calibration::for_family(Family::UseM3), &USE_M3);
        assert_eq!(Calibration::for_family(Family::E5), &E5);
        assert_eq!(Calibration::for_family(Family::Transformer), &E5);
        assert_eq!(Calibration::named("e5"), Some(&E5));
        assert_eq!(Calibration::named("nope"), None);
    }

    // e5 reads cosines higher everywhere a cosine is read (checked when compiling).
    const _: () = {
        assert!(E5.sentences.min_sim > USE_M3.sentences.min_sim);
        assert!(E5.relations.story_min_cos > USE_M3.relations.story_min_cos);
        assert!(E5.neighbor_min_cos > USE_M3.neighbor_min_cos);
        assert!(E5.sentences.margin.is_some() && USE_M3.sentences.margin.is_none());
    };
}
