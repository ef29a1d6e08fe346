//! Hugging Face model directories.

pub struct HfEncoder;
