//! JSON Feed repairs: feed-rs reads only `https://jsonfeed.org/version/1*` with every field
//! of the expected type; real JSON feeds say `http://`, omit the title, send numeric ids.

use serde_json::{Map, Value};

use super::repair::{Format, Repaired};

const STRING_FEED_FIELDS: &[&str] = &[
    "home_page_url",
    "feed_url",
    "language",
    "description",
    "icon",
    "favicon",
];
const STRING_ITEM_FIELDS: &[&str] = &[
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
];

/// Rewrites a JSON document into the JSON Feed shape feed-rs accepts.
pub fn repair(text: &str) -> Repaired {
    let Ok(Value::Object(mut feed)) = serde_json::from_str::<Value>(text) else {
        return Repaired {
            text: String::new(),
            format: Format::Json,
            entries: 0,
            thumbnails: Vec::new(),
            link: None,
        };
    };
    feed.insert(
        "version".into(),
        Value::String("https://jsonfeed.org/version/1.1".into()),
    );
    let title = as_text(feed.get("title")).unwrap_or_default();
    feed.insert("title".into(), Value::String(title));
    for field in STRING_FEED_FIELDS {
        fix_string(&mut feed, field);
    }
    fix_author(&mut feed);
    let items = match feed.remove("items") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let items: Vec<Value> = items
        .into_iter()
        .filter_map(|item| match item {
            Value::Object(mut item) => {
                for field in STRING_ITEM_FIELDS {
                    fix_string(&mut item, field);
                }
                fix_author(&mut item);
                fix_tags(&mut item);
                fix_attachments(&mut item);
                Some(Value::Object(item))
            }
            _ => None,
        })
        .collect();
    let entries = items.len();
    feed.insert("items".into(), Value::Array(items));
    Repaired {
        text: Value::Object(feed).to_string(),
        format: Format::Json,
        entries,
        thumbnails: Vec::new(),
        link: None,
    }
}

fn as_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn fix_string(object: &mut Map<String, Value>, field: &str) {
    match as_text(object.get(field)) {
        Some(s) => {
            object.insert(field.into(), Value::String(s));
        }
        None => {
            object.remove(field);
        }
    }
}

fn fix_person(value: Value) -> Option<Value> {
    match value {
        Value::Object(mut person) => {
            fix_string(&mut person, "name");
            fix_string(&mut person, "url");
            guard_name(&mut person);
            Some(Value::Object(person))
        }
        Value::String(name) => {
            let mut person = Map::new();
            person.insert("name".into(), Value::String(name));
            guard_name(&mut person);
            Some(Value::Object(person))
        }
        _ => None,
    }
}

/// feed-rs splits JSON authors' names with the function that panics on an e-mail address
/// glued to a multi-byte character, and JSON has no fallback reader: guard the name first.
fn guard_name(person: &mut Map<String, Value>) {
    let Some(Value::String(name)) = person.get("name") else {
        return;
    };
    match super::feedrs::guard_person_name(name) {
        Some(std::borrow::Cow::Borrowed(_)) => {}
        Some(std::borrow::Cow::Owned(guarded)) => {
            person.insert("name".into(), Value::String(guarded));
        }
        None => {
            person.remove("name");
        }
    }
}

fn fix_author(object: &mut Map<String, Value>) {
    if let Some(author) = object.remove("author").and_then(fix_person) {
        object.insert("author".into(), author);
    }
    if let Some(authors) = object.remove("authors") {
        let list: Vec<Value> = match authors {
            Value::Array(list) => list.into_iter().filter_map(fix_person).collect(),
            other => fix_person(other).into_iter().collect(),
        };
        object.insert("authors".into(), Value::Array(list));
    }
}

fn fix_tags(item: &mut Map<String, Value>) {
    if let Some(tags) = item.remove("tags") {
        let list: Vec<Value> = match tags {
            Value::Array(list) => list
                .iter()
                .filter_map(|t| as_text(Some(t)))
                .map(Value::String)
                .collect(),
            other => as_text(Some(&other))
                .map(Value::String)
                .into_iter()
                .collect(),
        };
        item.insert("tags".into(), Value::Array(list));
    }
}

fn fix_attachments(item: &mut Map<String, Value>) {
    let Some(attachments) = item.remove("attachments") else {
        return;
    };
    let Value::Array(list) = attachments else {
        return;
    };
    let list: Vec<Value> = list
        .into_iter()
        .filter_map(|a| {
            let Value::Object(mut a) = a else { return None };
            fix_string(&mut a, "url");
            fix_string(&mut a, "title");
            a.get("url")?;
            let mime =
                as_text(a.get("mime_type")).unwrap_or_else(|| "application/octet-stream".into());
            a.insert("mime_type".into(), Value::String(mime));
            let size = a.get("size_in_bytes").and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            });
            match size {
                Some(size) => a.insert("size_in_bytes".into(), Value::from(size)),
                None => a.remove("size_in_bytes"),
            };
            Some(Value::Object(a))
        })
        .collect();
    item.insert("attachments".into(), Value::Array(list));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_over_http_and_loose_types_are_accepted() {
        let r = repair(
            r#"{"version":"http://jsonfeed.org/version/1","items":[{"id":7,"title":"t","tags":"x","author":"Ann"}]}"#,
        );
        let v: Value = serde_json::from_str(&r.text).unwrap();
        assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(v["title"], "");
        assert_eq!(v["items"][0]["id"], "7");
        assert_eq!(v["items"][0]["tags"][0], "x");
        assert_eq!(v["items"][0]["author"]["name"], "Ann");
        assert_eq!(r.entries, 1);
    }
}
