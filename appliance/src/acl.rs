//! Permission rules in one type. Every route, the command line and both indexes ask an
//! [`Acl`] whether its holder may read or manage a document and which index tokens a
//! document's chunks carry, so they cannot disagree.
//!
//! Roles: an admin may do everything; an editor may upload documents and manage those of
//! the groups they belong to; an employee may only read. Everybody reads public documents
//! and those of their groups. Deny by default: a document with no group that is not public
//! is readable by admins only.

use std::fmt;
use std::str::FromStr;

use retrieval::Access;
use retrieval::access::chunk_tokens;
use serde::{Deserialize, Serialize};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Editor,
    Employee,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Employee];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Employee => "employee",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A role name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, editor or employee")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// Who may read a document: its groups, or every employee when public.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentAccess {
    pub groups: Vec<String>,
    pub public: bool,
}

impl DocumentAccess {
    pub fn new(groups: Vec<String>, public: bool) -> Self {
        Self { groups, public }
    }

    /// The tokens its chunks carry in both indexes (`group:<name>`, `public`).
    pub fn index_tokens(&self) -> Vec<String> {
        chunk_tokens(&self.groups, self.public)
    }
}

/// The permissions of one caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    role: Role,
    groups: Vec<String>,
}

impl Acl {
    pub fn new(role: Role, groups: &[String]) -> Self {
        Self {
            role,
            groups: groups.to_vec(),
        }
    }

    /// The operator on the command line, who owns the machine: everything.
    pub fn operator() -> Self {
        Self::new(Role::Admin, &[])
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn member_of_any(&self, groups: &[String]) -> bool {
        groups.iter().any(|group| self.groups.contains(group))
    }

    /// May open the document, see its title, passages and citations.
    pub fn may_read(&self, document: &DocumentAccess) -> bool {
        self.is_admin() || document.public || self.member_of_any(&document.groups)
    }

    /// May upload documents at all (editors and admins).
    pub fn may_upload(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Editor)
    }

    /// May replace, re-index, re-permission or delete the document: admins always, editors
    /// for documents of a group they belong to.
    pub fn may_manage(&self, document: &DocumentAccess) -> bool {
        self.is_admin() || (self.role == Role::Editor && self.member_of_any(&document.groups))
    }

    /// The first of `groups` this caller may not give a document to (editors only give
    /// documents to their own groups).
    pub fn unassignable<'a>(&self, groups: &'a [String]) -> Option<&'a str> {
        if self.is_admin() {
            return None;
        }
        groups
            .iter()
            .find(|group| !self.groups.contains(group))
            .map(String::as_str)
    }

    /// The filter both indexes apply to this caller's searches.
    pub fn retrieval_access(&self) -> Access {
        if self.is_admin() {
            Access::Everything
        } else {
            Access::member_of(&self.groups)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(role: Role, groups: &[&str]) -> Acl {
        let groups: Vec<String> = groups.iter().map(|group| (*group).to_owned()).collect();
        Acl::new(role, &groups)
    }

    #[test]
    fn roles_and_groups_decide_reading_and_managing() {
        let finance = DocumentAccess::new(vec!["finance".to_owned()], false);
        let public = DocumentAccess::new(Vec::new(), true);
        let nobody = DocumentAccess::default();
        assert!(acl(Role::Employee, &["finance"]).may_read(&finance));
        assert!(!acl(Role::Employee, &["hr"]).may_read(&finance));
        assert!(acl(Role::Employee, &[]).may_read(&public));
        assert!(!acl(Role::Editor, &["finance"]).may_read(&nobody));
        assert!(acl(Role::Admin, &[]).may_read(&finance));
        assert!(!acl(Role::Employee, &["finance"]).may_manage(&finance));
        assert!(acl(Role::Editor, &["finance"]).may_manage(&finance));
        assert!(!acl(Role::Editor, &["hr"]).may_manage(&finance));
        assert!(!acl(Role::Editor, &["hr"]).may_manage(&public));
        assert_eq!(
            acl(Role::Editor, &["hr"]).unassignable(&finance.groups),
            Some("finance")
        );
        assert_eq!(acl(Role::Admin, &[]).unassignable(&finance.groups), None);
    }

    #[test]
    fn the_index_filter_agrees_with_may_read() {
        let documents = [
            DocumentAccess::new(vec!["finance".to_owned()], false),
            DocumentAccess::new(vec!["hr".to_owned(), "finance".to_owned()], false),
            DocumentAccess::new(Vec::new(), true),
            DocumentAccess::default(),
        ];
        let callers = [
            acl(Role::Employee, &["finance"]),
            acl(Role::Editor, &["hr"]),
            acl(Role::Employee, &[]),
            acl(Role::Admin, &[]),
        ];
        for caller in &callers {
            for document in &documents {
                assert_eq!(
                    caller.retrieval_access().allows(&document.index_tokens()),
                    caller.may_read(document),
                    "{caller:?} on {document:?}"
                );
            }
        }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
