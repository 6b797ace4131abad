use super::*;

#[test]
fn case_predicates() {
    assert!(is_snake_segment("grade_item"));
    assert!(is_snake_segment("sis2"));
    assert!(!is_snake_segment("grade__item"));
    assert!(!is_snake_segment("_grade"));
    assert!(!is_snake_segment("grade_"));
    assert!(!is_snake_segment("Grade"));
    assert!(!is_snake_segment("1grade"));
    assert!(!is_snake_segment(""));
    assert!(is_lower_camel("districtID"));
    assert!(!is_lower_camel("district_id"));
    assert!(!is_lower_camel("DistrictId"));
    assert!(is_pascal("LetterGrade"));
    assert!(!is_pascal("letterGrade"));
    assert!(!is_pascal("Letter_Grade"));
}

#[test]
fn conversions() {
    assert_eq!(to_snake("lineItemId"), "line_item_id");
    assert_eq!(to_snake("districtID"), "district_id");
    assert_eq!(to_snake("IEPGoal"), "iep_goal");
    assert_eq!(to_snake("address2Line"), "address2_line");
    assert_eq!(to_pascal("grade_item"), "GradeItem");
    assert_eq!(to_pascal("in_app"), "InApp");
    assert_eq!(to_pascal("A"), "A");
    assert_eq!(
        to_screaming("gradebook.grade.posted"),
        "GRADEBOOK_GRADE_POSTED"
    );
    assert_eq!(to_lower_camel("grade_posted"), "gradePosted");
}

#[test]
fn keywords_are_escaped() {
    assert_eq!(rust_ident("type"), "r#type");
    assert_eq!(rust_ident("match"), "r#match");
    assert_eq!(rust_ident("self"), "self_");
    assert_eq!(rust_ident("crate"), "crate_");
    assert_eq!(rust_ident("score"), "score");
    assert_eq!(variant_ident("1st"), "V1st");
    assert_eq!(variant_ident("Self"), "Self_");
    assert_eq!(variant_ident("in_app"), "InApp");
}

#[test]
fn past_tense() {
    assert!(is_past_tense("posted", &[]));
    assert!(is_past_tense("sent", &[]));
    assert!(!is_past_tense("post", &[]));
    assert!(is_past_tense("synced", &[]));
    assert!(is_past_tense("sync", &["sync".to_string()]));
    assert_eq!(past_tense_action("post"), "posted");
    assert_eq!(past_tense_action("update"), "updated");
    assert_eq!(past_tense_action("score_update"), "score_updated");
    assert_eq!(past_tense_action("apply"), "applied");
    assert_eq!(past_tense_action("send"), "sent");
    assert_eq!(past_tense_action("submit"), "submitted");
    assert_eq!(past_tense_action("plan"), "planned");
    assert_eq!(past_tense_action("posting"), "posted");
    assert_eq!(past_tense_action("updating"), "updated");
    assert_eq!(past_tense_action("marks"), "marked");
}

#[test]
fn suggestions() {
    let keys = ["payload", "description", "aggregate", "aggregate_id"];
    assert_eq!(did_you_mean("paylod", keys), Some("payload"));
    assert_eq!(did_you_mean("Payload", keys), Some("payload"));
    assert_eq!(did_you_mean("aggregateId", keys), Some("aggregate_id"));
    assert_eq!(did_you_mean("zzz", keys), None);
}
