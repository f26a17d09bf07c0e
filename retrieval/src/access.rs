//! Who may read what. Every indexed chunk carries access tokens; every query carries the
//! caller's. A chunk matches only if the two share a token: no token, no match.

/// The access token every employee holds: documents marked public carry it.
pub const PUBLIC_TOKEN: &str = "public";

/// The access tokens stored with a chunk: its groups, plus [`PUBLIC_TOKEN`] if public.
pub fn chunk_tokens(groups: &[String], public: bool) -> Vec<String> {
    let mut tokens: Vec<String> = groups.iter().map(|group| group_token(group)).collect();
    if public {
        tokens.push(PUBLIC_TOKEN.to_owned());
    }
    tokens
}

/// The token of one group (prefixed so a group named "public" is not the public flag).
pub fn group_token(group: &str) -> String {
    format!("group:{group}")
}

/// What a query may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Everything: the operator on the command line, or an administrator.
    Everything,
    /// Public documents and those of the listed groups.
    Tokens(Vec<String>),
}

impl Access {
    /// A caller who belongs to `groups` (public documents are always included).
    pub fn member_of(groups: &[String]) -> Self {
        Self::Tokens(chunk_tokens(groups, true))
    }

    /// Whether a chunk with `chunk_tokens` may be seen.
    pub fn allows(&self, chunk_tokens: &[String]) -> bool {
        match self {
            Access::Everything => true,
            Access::Tokens(tokens) => chunk_tokens.iter().any(|token| tokens.contains(token)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_by_default() {
        let caller = Access::member_of(&["finance".into()]);
        assert!(!caller.allows(&[]));
        assert!(!caller.allows(&chunk_tokens(&["hr".into()], false)));
        assert!(caller.allows(&chunk_tokens(&["hr".into()], true)));
        assert!(caller.allows(&chunk_tokens(&["finance".into()], false)));
        assert!(
            !caller.allows(&chunk_tokens(&["public".into()], false)),
            "a group named public is not public"
        );
        assert!(Access::Everything.allows(&[]));
    }
}
