mod events {
    skillcore_events::catalog!("ui/pass/keywords.yaml");
}

use events::r#match::GamePlayed;
use skillcore_events::Event;

fn main() {
    let game = GamePlayed {
        r#type: "g-1".into(),
        r#match: 3,
        self_: true,
        r#loop: Some(events::Place::V1st),
        district_id: "d-9".into(),
        r#async: events::Self_ {
            r#type: "inner".into(),
        },
        choice: None,
        strings: vec![events::String { note: "A4".into() }],
        outcome: events::Result::Err,
    };
    let json = serde_json::to_value(&game).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "type": "g-1",
            "match": 3,
            "self": true,
            "loop": "1st",
            "districtID": "d-9",
            "async": { "type": "inner" },
            "strings": [{ "note": "A4" }],
            "outcome": "err"
        })
    );
    assert_eq!(GamePlayed::NAME, "match.game.played");
    assert_eq!(GamePlayed::CONTEXT, "match");
    assert_eq!(GamePlayed::AGGREGATE_ID_FIELD, "type");
    assert_eq!(game.aggregate_id(), "g-1");
    assert_eq!(events::names::MATCH_GAME_PLAYED, "match.game.played");

    let any = events::AnyEvent::from_json("match.game.played", &json.to_string()).unwrap();
    assert_eq!(any, events::AnyEvent::MatchGamePlayed(game));
    assert_eq!(any.to_value().unwrap(), json);

    let places: Vec<&str> = events::Place::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(places, ["1st", "2nd", "self", "in_app", "quote\"d"]);
    assert!(events::EVENTS[0].description.ends_with("r#\"x\"# \u{202E}"));
    assert_eq!(
        serde_json::to_string(&events::Place::Self_).unwrap(),
        "\"self\""
    );
    assert_eq!(
        serde_json::from_str::<events::Place>("\"in_app\"").unwrap(),
        events::Place::InApp
    );

    let info = events::event_info("match.game.played").unwrap();
    let rust_names: Vec<&str> = info.fields.iter().map(|f| f.rust_name).collect();
    assert_eq!(
        rust_names,
        [
            "type",
            "match",
            "self_",
            "loop",
            "district_id",
            "async",
            "choice",
            "strings",
            "outcome"
        ]
    );
    assert_eq!(events::Option::ALL.len(), 2);
}
