//! Upload identity and who may change what: a document is identified by its id, never by
//! a file-name collision, and only those who may manage a document change it.

use appliance::acl::{Acl, DocumentAccess, Role};
use appliance::engine::IngestOptions;

use super::{TestEngine, acl};

const POLICY_A: &str = "# Travel policy\n\nGroup A books trains through the travel office.\n";
const POLICY_B: &str = "# Travel policy\n\nGroup B flies economy and books its own hotels.\n";

fn upload_options(groups: &[&str], actor: &str) -> IngestOptions {
    IngestOptions {
        access: DocumentAccess::new(groups.iter().map(|group| (*group).to_owned()).collect(), false),
        actor: actor.to_owned(),
    }
}

async fn upload(test: &TestEngine, uploader: &Acl, groups: &[&str], text: &str) -> appliance::Result<String> {
    test.engine
        .enqueue_upload(
            uploader,
            "policy.md",
            text.as_bytes().to_vec(),
            &upload_options(groups, "someone"),
        )
        .await?;
    let mut resumed = test.engine.resume_jobs().await?;
    assert_eq!(resumed.len(), 1, "one job per upload");
    let (_, outcome) = resumed.remove(0);
    Ok(outcome?.document_id)
}

async fn readable_texts(test: &TestEngine, reader: &Acl) -> Vec<String> {
    test.texts("travel policy books", reader).await
}

#[tokio::test]
async fn an_editor_of_another_group_cannot_replace_a_document_by_uploading_the_same_name() {
    let test = TestEngine::new(None).await;
    let editor_a = acl(Role::Editor, &["a"]);
    let editor_b = acl(Role::Editor, &["b"]);
    let document_a = upload(&test, &editor_a, &["a"], POLICY_A).await.unwrap();
    let document_b = upload(&test, &editor_b, &["b"], POLICY_B).await.unwrap();
    assert_ne!(document_a, document_b, "B's upload became a version of A's document");

    let kept = test
        .engine
        .readable_document(&Acl::operator(), &document_a)
        .await
        .unwrap();
    assert_eq!(kept.version, 1);
    assert_eq!(kept.access.groups, vec!["a".to_owned()]);
    let employee_a = readable_texts(&test, &acl(Role::Employee, &["a"])).await;
    assert_eq!(employee_a.len(), 1);
    assert!(employee_a[0].contains("trains"), "{employee_a:?}");
    let employee_b = readable_texts(&test, &acl(Role::Employee, &["b"])).await;
    assert_eq!(employee_b.len(), 1);
    assert!(employee_b[0].contains("economy"), "{employee_b:?}");
}

#[tokio::test]
async fn the_same_name_from_an_editor_who_manages_it_is_a_new_version() {
    let test = TestEngine::new(None).await;
    let editor_a = acl(Role::Editor, &["a"]);
    let first = upload(&test, &editor_a, &["a"], POLICY_A).await.unwrap();
    let second = upload(&test, &editor_a, &["a"], POLICY_B).await.unwrap();
    assert_eq!(first, second);
    let document = test.engine.readable_document(&editor_a, &first).await.unwrap();
    assert_eq!(document.version, 2);
}

#[tokio::test]
async fn identical_content_from_another_group_is_not_reported_as_a_duplicate_of_a_hidden_document() {
    let test = TestEngine::new(None).await;
    let document_a = upload(&test, &acl(Role::Editor, &["a"]), &["a"], POLICY_A)
        .await
        .unwrap();
    let document_b = upload(&test, &acl(Role::Editor, &["b"]), &["b"], POLICY_A)
        .await
        .unwrap();
    assert_ne!(document_a, document_b);
    assert_eq!(readable_texts(&test, &acl(Role::Employee, &["b"])).await.len(), 1);
}

#[tokio::test]
async fn a_new_version_needs_the_right_to_manage_the_document() {
    let test = TestEngine::new(None).await;
    let document = upload(&test, &acl(Role::Editor, &["a"]), &["a"], POLICY_A)
        .await
        .unwrap();
    let bytes = || POLICY_B.as_bytes().to_vec();
    let outsider = test
        .engine
        .enqueue_new_version(&acl(Role::Editor, &["b"]), &document, "policy.md", bytes(), "eve")
        .await
        .unwrap_err();
    assert!(matches!(outsider, appliance::Error::NotFound), "{outsider:?}");
    let reader = test
        .engine
        .enqueue_new_version(&acl(Role::Employee, &["a"]), &document, "policy.md", bytes(), "bob")
        .await
        .unwrap_err();
    assert!(matches!(reader, appliance::Error::Forbidden), "{reader:?}");
    let queued = test
        .engine
        .enqueue_new_version(
            &acl(Role::Editor, &["a"]),
            &document,
            "policy-2026.md",
            bytes(),
            "carol",
        )
        .await
        .unwrap();
    assert_eq!(queued.document_id.as_deref(), Some(document.as_str()));
    test.engine.resume_jobs().await.unwrap();
    let updated = test
        .engine
        .readable_document(&Acl::operator(), &document)
        .await
        .unwrap();
    assert_eq!((updated.version, updated.name().as_str()), (2, "policy-2026.md"));
    assert_eq!(updated.access.groups, vec!["a".to_owned()]);
}

#[tokio::test]
async fn several_manageable_documents_of_one_name_are_a_conflict() {
    let test = TestEngine::new(None).await;
    upload(&test, &acl(Role::Editor, &["a"]), &["a"], POLICY_A)
        .await
        .unwrap();
    upload(&test, &acl(Role::Editor, &["b"]), &["b"], POLICY_B)
        .await
        .unwrap();
    let error = upload(&test, &Acl::operator(), &["a"], "# Travel\n\nNew rules.\n")
        .await
        .unwrap_err();
    assert!(matches!(error, appliance::Error::Conflict(_)), "{error:?}");
}

#[tokio::test]
async fn an_editor_only_gives_documents_to_their_own_groups() {
    let test = TestEngine::new(None).await;
    let error = upload(&test, &acl(Role::Editor, &["a"]), &["b"], POLICY_A)
        .await
        .unwrap_err();
    assert!(matches!(error, appliance::Error::BadRequest(_)), "{error:?}");
    let employee = upload(&test, &acl(Role::Employee, &["a"]), &["a"], POLICY_A)
        .await
        .unwrap_err();
    assert!(matches!(employee, appliance::Error::Forbidden), "{employee:?}");
}
