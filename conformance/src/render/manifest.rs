//! A rendered chart: its documents, as text and as Kubernetes objects.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::RenderError;

/// What a chart rendered: template path -> text (NOTES.txt apart), the same from either engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Rendered templates by path (`light-gateway/templates/deployment.yaml`), hooks included;
    /// templates that rendered only whitespace are left out.
    pub files: BTreeMap<String, String>,
    /// The rendered NOTES.txt, when the chart has one.
    pub notes: Option<String>,
}

/// One YAML document of a rendered template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    /// The template that produced it.
    pub template: &'a str,
    /// The document, without the `---` separator and surrounding blank lines.
    pub text: &'a str,
}

/// A rendered document read as a Kubernetes object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The template that produced it.
    pub template: String,
    /// The object as JSON.
    pub value: serde_json::Value,
}

impl Object {
    /// `kind`, or "" when absent.
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name`, or "" when absent.
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// The object as a k8s-openapi type (or any other deserialisable type).
    ///
    /// # Errors
    /// [`RenderError::Typed`] when the object does not fit the type.
    pub fn typed<K: DeserializeOwned>(&self) -> Result<K, RenderError> {
        serde_json::from_value(self.value.clone()).map_err(|source| RenderError::Typed {
            kind: self.kind().to_string(),
            name: self.name().to_string(),
            source,
        })
    }
}

impl Rendered {
    /// Builds a render from files and notes, dropping files that rendered only whitespace.
    pub fn new(files: BTreeMap<String, String>, notes: Option<String>) -> Self {
        let files = files.into_iter().filter(|(_, text)| has_content(text)).collect();
        Self { files, notes }
    }

    /// Builds a render from the engine's `{template path: text}` map, taking NOTES.txt out.
    pub fn from_files(mut files: BTreeMap<String, String>) -> Self {
        let notes_key = files.keys().find(|k| k.ends_with("/templates/NOTES.txt")).cloned();
        let notes = notes_key.and_then(|k| files.remove(&k));
        Self::new(files, notes)
    }

    /// Every non-empty document, in template path order.
    pub fn documents(&self) -> Vec<Document<'_>> {
        self.files
            .iter()
            .flat_map(|(template, text)| {
                split_documents(text).map(move |text| Document {
                    template: template.as_str(),
                    text,
                })
            })
            .collect()
    }

    /// The documents in one stable form: `---`, `# Source: <template>`, the document; the form
    /// golden files are compared in, so both engines produce the same bytes.
    pub fn to_golden(&self) -> String {
        let mut out = String::new();
        for doc in self.documents() {
            out.push_str("---\n# Source: ");
            out.push_str(doc.template);
            out.push('\n');
            out.push_str(doc.text);
            out.push('\n');
        }
        out
    }

    /// Every document parsed as an object.
    ///
    /// # Errors
    /// [`RenderError::Yaml`] naming the template of a document that is not YAML.
    pub fn objects(&self) -> Result<Vec<Object>, RenderError> {
        self.documents()
            .into_iter()
            .map(|doc| {
                let value = serde_saphyr::from_str::<serde_json::Value>(doc.text).map_err(|e| RenderError::Yaml {
                    template: doc.template.to_string(),
                    detail: e.to_string(),
                })?;
                Ok(Object {
                    template: doc.template.to_string(),
                    value,
                })
            })
            .collect()
    }

    /// Every object of `kind`, typed.
    ///
    /// # Errors
    /// A document that is not YAML or an object that does not fit `K`.
    pub fn all<K: DeserializeOwned>(&self, kind: &str) -> Result<Vec<K>, RenderError> {
        self.objects()?
            .iter()
            .filter(|o| o.kind() == kind)
            .map(Object::typed)
            .collect()
    }

    /// The object of `kind` called `name`, typed.
    ///
    /// # Errors
    /// [`RenderError::Missing`] when there is none, and the errors of [`Self::all`].
    pub fn get<K: DeserializeOwned>(&self, kind: &str, name: &str) -> Result<K, RenderError> {
        let objects = self.objects()?;
        let object = objects
            .iter()
            .find(|o| o.kind() == kind && o.name() == name)
            .ok_or_else(|| RenderError::Missing {
                kind: kind.to_string(),
                name: name.to_string(),
            })?;
        object.typed()
    }

    /// The kinds rendered, one entry per object, in document order.
    pub fn kinds(&self) -> Result<Vec<String>, RenderError> {
        Ok(self.objects()?.iter().map(|o| o.kind().to_string()).collect())
    }
}

/// Splits a template's text on `---` lines, dropping empty and comment-only documents.
fn split_documents(text: &str) -> impl Iterator<Item = &str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .map(|d| d.trim_matches('\n'))
        .filter(|d| has_content(d))
}

/// Whether a document holds more than whitespace and comments.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_skip_empty_templates_and_separators() {
        let files = BTreeMap::from([
            (
                "c/templates/a.yaml".to_string(),
                "\n\nkind: A\n---\n\n---\nkind: B\n".to_string(),
            ),
            ("c/templates/validate.yaml".to_string(), "\n  \n".to_string()),
            ("c/templates/NOTES.txt".to_string(), "hello".to_string()),
        ]);
        let rendered = Rendered::from_files(files);
        assert_eq!(rendered.notes.as_deref(), Some("hello"));
        let docs: Vec<_> = rendered.documents().iter().map(|d| d.text).collect();
        assert_eq!(docs, ["kind: A", "kind: B"]);
        assert_eq!(
            rendered.to_golden(),
            "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/a.yaml\nkind: B\n"
        );
    }

    #[test]
    fn objects_are_typed_and_found_by_kind_and_name() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n";
        let rendered = Rendered::new(BTreeMap::from([("t".to_string(), yaml.to_string())]), None);
        let cm: k8s_openapi::api::core::v1::ConfigMap = rendered.get("ConfigMap", "x").unwrap();
        assert_eq!(cm.data.unwrap()["a"], "b");
        assert!(matches!(
            rendered.get::<k8s_openapi::api::core::v1::ConfigMap>("ConfigMap", "y"),
            Err(RenderError::Missing { .. })
        ));
    }
}
