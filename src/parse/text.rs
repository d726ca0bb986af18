//! The repairs feed text fields need before they become titles: double-encoded UTF-8 put
//! right, and the first words of the text standing in for a missing title. (HTML → text,
//! entities and whitespace are the shared toolkit's: `crate::markup`.)

use super::policy::FALLBACK_TITLE_WORDS;

/// The first words of a text, standing in for a missing title.
pub fn first_words(text: &str) -> String {
    let words: Vec<&str> = text
        .split_whitespace()
        .take(FALLBACK_TITLE_WORDS + 1)
        .collect();
    if words.len() > FALLBACK_TITLE_WORDS {
        format!("{}…", words[..FALLBACK_TITLE_WORDS].join(" "))
    } else {
        words.join(" ")
    }
}

/// Repairs UTF-8 that was decoded as Windows-1252/Latin-1 somewhere upstream
/// (`FÃ¶rderprogramme` → `Förderprogramme`); anything else is returned unchanged.
pub fn fix_mojibake(s: &str) -> Option<String> {
    // Double-encoded UTF-8 of Latin text shows a lead byte read as `Ã`..`ô` (C3 82..C3 B4)
    // followed by a continuation byte read as Latin-1/Windows-1252: U+0080..U+00BF (C2 xx)
    // or one of Windows-1252's specials (E2/C5/C6/CB xx). A bytewise test before the real one.
    let bytes = s.as_bytes();
    let suspicious = memchr::memchr_iter(0xC3, bytes).any(|i| {
        bytes.get(i + 1).is_some_and(|b| (0x82..=0xB4).contains(b))
            && bytes
                .get(i + 2)
                .is_some_and(|b| matches!(b, 0xC2 | 0xE2 | 0xC5 | 0xC6 | 0xCB))
    });
    if !suspicious {
        return None;
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
    if unmappable {
        return None;
    }
    let fixed = String::from_utf8(bytes.into_owned()).ok()?;
    (fixed != s).then_some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojibake_is_repaired() {
        assert_eq!(
            fix_mojibake("FÃ¶rderprogramme").as_deref(),
            Some("Förderprogramme")
        );
        assert_eq!(
            fix_mojibake("ActualitÃ©s â€” Le Monde").as_deref(),
            Some("Actualités — Le Monde")
        );
        assert_eq!(fix_mojibake("Förderprogramme"), None);
        assert_eq!(fix_mojibake("Ã la carte"), None);
    }
}
