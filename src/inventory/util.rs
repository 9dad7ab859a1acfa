//! Small helpers for walking loosely-typed JSON with good error messages.

use std::path::Path;

use serde_json::Value;

use super::InventoryError;

pub(crate) fn read_text(path: &Path) -> Result<String, InventoryError> {
    std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Read an `aws … --output json` document. The same output as YAML (`--output yaml`) is read
/// too: by its extension, or when the text is neither JSON nor starts like JSON but parses as a
/// YAML mapping or sequence. A leading byte-order mark is skipped.
pub(crate) fn read_json(path: &Path) -> Result<Value, InventoryError> {
    let text = read_text(path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let yaml_ext = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml_ext {
        return super::yaml::to_json(text).map_err(|message| InventoryError::Yaml {
            path: path.to_path_buf(),
            message,
        });
    }
    let source = match serde_json::from_str(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let json_like = matches!(text.trim_start().chars().next(), Some('{' | '[') | None);
    if !json_like {
        if let Ok(v @ (Value::Object(_) | Value::Array(_))) = super::yaml::to_json(text) {
            return Ok(v);
        }
        return Err(InventoryError::invalid(
            path,
            format!(
                "neither JSON ({source}) nor YAML: give the output of `aws ec2 describe-… --output json`"
            ),
        ));
    }
    Err(InventoryError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A short description of a JSON value's type, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Optional string field; a non-string value is an error.
pub(crate) fn opt_str<'a>(obj: &'a Value, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(format!("{key} should be a string, got {}", kind(other))),
    }
}

/// Optional object field (absent or null → `None`); anything else is an error, not ignored.
pub(crate) fn opt_object<'a>(obj: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(other) => Err(format!("{key} should be an object, got {}", kind(other))),
    }
}

/// Optional array field (absent or null → empty).
pub(crate) fn opt_array<'a>(obj: &'a Value, key: &str) -> Result<&'a [Value], String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a.as_slice()),
        Some(other) => Err(format!("{key} should be an array, got {}", kind(other))),
    }
}

/// Optional integer field, accepting integers and integer strings.
pub(crate) fn opt_int(obj: &Value, key: &str) -> Result<Option<i64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{key} should be an integer, got {n}")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("{key} should be an integer, got {s:?}")),
        Some(other) => Err(format!("{key} should be an integer, got {}", kind(other))),
    }
}

/// Truncate long ids in messages.
pub(crate) fn label(id: Option<&str>) -> String {
    match id {
        Some(s) if s.chars().count() > 40 => {
            let t: String = s.chars().take(40).collect();
            format!(" ({t}…)")
        }
        Some(s) => format!(" ({s})"),
        None => String::new(),
    }
}
