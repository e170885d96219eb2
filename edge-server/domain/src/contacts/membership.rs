//! Which segments a contact belongs to, as its sheet shows them. Apart from [`super::segment`]
//! (the rule language, which reads the sheet's views) so that the sheet does not depend on
//! the rules.

use serde::Serialize;

/// A static segment's members are added by hand; a dynamic one's rule selects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    Static,
    Dynamic,
}

impl SegmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Static => "static",
            SegmentKind::Dynamic => "dynamic",
        }
    }

    pub fn parse(name: &str) -> Option<SegmentKind> {
        [SegmentKind::Static, SegmentKind::Dynamic]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for SegmentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A segment a contact belongs to, on its sheet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Membership {
    pub id: String,
    pub name: String,
    pub kind: SegmentKind,
}
