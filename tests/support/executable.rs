//! The "is this markup executable" oracle of every test, integration tests and the
//! library's unit tests alike (`src/lib.rs` includes it as `executable_oracle`): markup is
//! parsed as a browser parses a fragment in a page's body (html5ever, through scraper); what
//! could run is named: an element that runs or loads code or styles (`<script>`, `<svg>`,
//! `<iframe>`, `<meta>`...), an event-handler or `style` attribute, or a URL whose scheme
//! runs code (`javascript:`, `vbscript:`, `data:`), however it is spelled (entities,
//! case, tabs and newlines inside, spaces or controls around it). Text that merely
//! mentions such things is text, and not counted.

/// Elements that run or load code, or style the page, wherever they appear.
const EXECUTABLE_ELEMENTS: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "svg",
    "math", "meta", "base", "link", "noscript", "template",
];

/// Attributes whose value is text, never fetched or followed.
const TEXT_ATTRIBUTES: &[&str] = &["title", "alt"];

/// URL schemes that run code when followed or loaded.
const EXECUTABLE_SCHEMES: &[&str] = &["javascript", "vbscript", "livescript", "data"];

/// What in `html` a browser would run, one line per construct; empty when nothing.
pub fn executable_constructs(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_fragment(html);
    let mut found = Vec::new();
    for node in doc.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        let name = element.name().to_ascii_lowercase();
        if EXECUTABLE_ELEMENTS.contains(&name.as_str()) {
            found.push(format!("a <{name}> element"));
        }
        for (attr, value) in element.attrs() {
            let attr = attr.to_ascii_lowercase();
            if attr.starts_with("on") || attr == "style" {
                found.push(format!("<{name} {attr}=...>"));
            } else if !TEXT_ATTRIBUTES.contains(&attr.as_str())
                && value.split(',').any(executable_url)
            {
                found.push(format!("<{name} {attr}={value:?}>"));
            }
        }
    }
    found
}

/// Whether a browser would run something in `html`.
pub fn is_executable(html: &str) -> bool {
    !executable_constructs(html).is_empty()
}

/// Fails the test, naming `place`, when a browser would run something in `html`.
pub fn assert_not_executable(place: &str, html: &str) {
    let found = executable_constructs(html);
    assert!(
        found.is_empty(),
        "{place} carries {}: {}",
        found.join(", "),
        &html[..html.floor_char_boundary(600)]
    );
}

/// Whether `value`, read as a URL the way a browser reads one (spaces and controls around
/// it trimmed, tabs and newlines inside removed, case ignored), has a scheme that runs
/// code.
fn executable_url(value: &str) -> bool {
    let url: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    EXECUTABLE_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
}
