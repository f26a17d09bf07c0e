use super::*;

const WELCOME: &str = "This appliance searches your company's documents and answers questions from them, citing \
the page each answer comes from. Nothing leaves this server: no internet connection is used.";
const 欢迎: &str =
    "本设备检索公司内部文档，并根据文档回答问题，每个回答都注明出处页码。所有数据都留在本服务器上，不连接互联网。";

fn polarity(sentence: &str, passage: &str) -> bool {
    !matches!(conflict(sentence, passage), Some(Conflict::Polarity(_)))
}

#[test]
fn regression_dropped_not_passes_as_cited_english() {
    assert_eq!(
        conflict("The appliance connects to the internet.", WELCOME),
        Some(Conflict::Polarity("no internet connection is used".to_owned()))
    );
    assert_eq!(conflict("No internet connection is used.", WELCOME), None);
    assert_eq!(
        conflict("The appliance does not use an internet connection.", WELCOME),
        None
    );
}

#[test]
fn regression_dropped_not_passes_as_cited_chinese() {
    assert!(!polarity("数据会离开服务器。", 欢迎), "离开 is the opposite of 留在");
    assert!(polarity("数据不会离开服务器。", 欢迎));
    assert!(!polarity("本设备连接互联网。", 欢迎));
    assert!(polarity("本设备不连接互联网。", 欢迎));
}

#[test]
fn each_english_negation_flips_polarity() {
    let passage = "The backup runs every night.";
    for sentence in [
        "The backup does not run every night.",
        "The backup never runs every night.",
        "No backup runs every night.",
        "The backup runs without fail every night, none.",
        "The backup cannot run every night.",
        "The backup doesn't run every night.",
        "The backup won’t run every night.",
        "Nothing runs the backup every night.",
    ] {
        assert!(!polarity(sentence, passage), "{sentence}");
        assert!(
            polarity(sentence, &format!("{sentence} Then it stops.")),
            "{sentence} agrees with itself"
        );
    }
    assert!(polarity("The backup runs every night.", passage));
}

#[test]
fn each_chinese_negation_flips_polarity() {
    let passage = "系统每天晚上备份数据。";
    for sentence in [
        "系统每天晚上不备份数据。",
        "系统每天晚上没备份数据。",
        "系統每天晚上沒備份數據。",
        "系统每天晚上无备份数据。",
        "系统每天晚上未备份数据。",
        "系统每天晚上并非备份数据。",
        "系统每天晚上别备份数据。",
        "系统每天晚上勿备份数据。",
    ] {
        assert!(!polarity(sentence, passage), "{sentence}");
    }
    assert_eq!(negation_count("是否备份？"), 0, "是否 asks, it does not negate");
    assert_eq!(negation_count("答案为否"), 1);
}

#[test]
fn double_negatives_cancel() {
    assert!(polarity(
        "It is not impossible without a key, never.",
        "It is not impossible without a key, never."
    ));
    assert!(polarity(
        "You cannot log in without a password.",
        "You cannot log in without a password."
    ));
    assert_eq!(negation_count("You cannot log in without a password") % 2, 0);
    assert!(polarity("员工不得不修改密码。", "员工必须修改密码。"));
    assert!(!polarity("员工不必修改密码。", "员工必须修改密码。"));
    assert_eq!(negation_count("不是不可以"), 2);
    assert_eq!(negation_count("并非没有"), 2);
}

#[test]
fn words_that_only_look_negative_do_not_flip() {
    for text in [
        "非常快",
        "无论如何",
        "不同的用户",
        "别人的文档",
        "否则失败",
        "未来版本",
        "无线网络",
        "是不是",
        "有没有",
        "能不能",
        "not only this",
    ] {
        assert_eq!(negation_count(text), 0, "{text}");
    }
}

#[test]
fn numbers_must_match_exactly() {
    let passage = "The canteen opens at 11:30 and closes at 14:00. Version 3.5 ships 1,024 templates on 2026-12-01.";
    assert_eq!(conflict("The canteen opens at 11:30.", passage), None);
    assert_eq!(
        conflict("The canteen opens at 11:00.", passage),
        Some(Conflict::Number("11:00".to_owned()))
    );
    assert_eq!(
        conflict("Version 3.6 ships 1024 templates.", passage),
        Some(Conflict::Number("3.6".to_owned()))
    );
    assert_eq!(
        conflict("Version 3.5 ships 1024 templates.", passage),
        None,
        "thousands separator"
    );
    assert_eq!(
        conflict("It ships on 2026-12-02.", passage),
        Some(Conflict::Number("2026-12-02".to_owned()))
    );
}

#[test]
fn chinese_numbers_are_read_as_values() {
    assert_eq!(numbers("第三阶段需要十一天，共三百二十人"), vec!["3", "11", "320"]);
    assert_eq!(numbers("二〇二六年"), vec!["2026"]);
    assert_eq!(numbers("一个文件"), Vec::<String>::new(), "a lone 一 is just 'a'");
    assert_eq!(numbers("１２ 个"), vec!["12"]);
    let passage = "食堂中午十一点半开门，下午两点关门。";
    assert_eq!(conflict("食堂中午11点半开门。", passage), None);
    assert_eq!(
        conflict("食堂中午十二点半开门。", passage),
        Some(Conflict::Number("12".to_owned()))
    );
    assert_eq!(
        conflict("第二阶段需要三天。", "第三阶段需要三天。"),
        Some(Conflict::Number("2".to_owned()))
    );
}

#[test]
fn names_must_occur_in_the_passage() {
    assert_eq!(
        names("The question \"Who can read an uploaded document?"),
        Vec::<String>::new()
    );
    let passage = "Passwords are hashed with SHA-256 by systemd-homed; MD5 is no longer secure.";
    assert_eq!(conflict("Passwords are hashed with SHA-256.", passage), None);
    assert_eq!(
        conflict("Passwords are hashed with bcrypt2.", passage),
        Some(Conflict::Name("bcrypt2".to_owned()))
    );
    assert_eq!(
        conflict("The hashing is done by Kerberos.", passage),
        Some(Conflict::Name("Kerberos".to_owned()))
    );
    assert_eq!(
        conflict("MD5 is still secure.", passage),
        Some(Conflict::Polarity("MD5 is no longer secure".to_owned()))
    );
    // Asked how to verify a signature, the model answered "-v", which the passage's
    // "gpg --verify file.sig file" contains only as letters of another option.
    let options = "gpg --verify file.sig file | verify file with file.sig; gpg -o file.sig -b file";
    assert_eq!(
        conflict("You can use the `gpg` command with the `-v` option.", options),
        Some(Conflict::Name("-v".to_owned()))
    );
    assert_eq!(conflict("Run gpg --verify file.sig file.", options), None);
    assert_eq!(conflict("Add -b to make a detached signature.", options), None);
    assert_eq!(
        names("It is set as \"init=/path/to/init\"."),
        vec!["init=/path/to/init"]
    );
    assert_eq!(
        conflict("地址是 VPN.harbor.internal。", "VPN 网关的地址是 vpn.harbor.internal。"),
        Some(Conflict::Name("VPN.harbor.internal".to_owned()))
    );
    let chinese = "密码使用 SHA-256 散列，由 systemd-homed 处理。";
    assert_eq!(conflict("密码使用 SHA-256 散列。", chinese), None);
    assert_eq!(
        conflict("密码使用 MD5 散列。", chinese),
        Some(Conflict::Name("MD5".to_owned()))
    );
}

#[test]
fn options_tell_one_command_row_from_its_neighbour() {
    let sentence = "To view it, use the `journalctl -b --user` command [2].";
    assert_eq!(options(sentence), vec!["-b", "--user"]);
    let user_row = "View log for services of the current user from the last boot \"journalctl -b --user\"";
    let unit_row = "View job log of \"$unit\" from the last boot \"journalctl -b -u $unit\"";
    assert!(holds_options(user_row, &options(sentence)));
    assert!(!holds_options(unit_row, &options(sentence)), "-u is not --user");
    assert!(options("Run journalctl -b -b.").len() == 1);
    assert!(options("A well-known tool.").is_empty());
}

#[test]
fn identifiers_are_the_technical_names_of_a_sentence() {
    assert_eq!(
        identifiers("default.target 通常链接到 swap.target [2]。"),
        vec!["default.target", "swap.target"]
    );
    assert_eq!(
        identifiers("It loads Linux 5.10.0-6-amd64 from /boot with `-b`."),
        vec!["5.10.0-6-amd64", "/boot"]
    );
    assert!(identifiers("The Debian Project builds it.").is_empty());
}

#[test]
fn yes_no_questions_are_recognised() {
    for question in [
        "Does the appliance connect to the internet?",
        "Is every document public?",
        "Can I upload a PDF?",
        "Will it work offline?",
        "数据会离开服务器吗？",
        "是否需要联网？",
        "能不能上传 PDF？",
        "有没有离线模式？",
        "是不是所有员工都能看？",
        "資料會離開伺服器嗎？",
    ] {
        assert!(is_yes_no_question(question), "{question}");
    }
    for question in [
        "How do I ask a question?",
        "Who can read a document?",
        "Is it PDF or HTML?",
        "如何提问？",
        "用 PDF 还是 HTML？",
    ] {
        assert!(!is_yes_no_question(question), "{question}");
    }
}

#[test]
fn yes_or_no_follows_the_supporting_sentence() {
    assert_eq!(
        answers_yes(
            "Does the appliance use an internet connection?",
            "No internet connection is used."
        ),
        Some(false)
    );
    assert_eq!(
        answers_yes("Is an internet connection used?", "No internet connection is used."),
        Some(false)
    );
    assert_eq!(
        answers_yes(
            "Can administrators upload PDF files?",
            "Administrators upload PDF, HTML and text files."
        ),
        Some(true)
    );
    assert_eq!(
        answers_yes("Doesn't it use the internet?", "No internet connection is used."),
        Some(false)
    );
    assert_eq!(
        answers_yes("数据会离开服务器吗？", "所有数据都留在本服务器上。"),
        Some(false)
    );
    assert_eq!(answers_yes("本设备是否连接互联网？", "不连接互联网。"), Some(false));
    assert_eq!(
        answers_yes("管理员可以上传 PDF 吗？", "管理员可以上传 PDF、HTML 和文本文件。"),
        Some(true)
    );
    assert_eq!(
        answers_yes("Does it need a GPU?", "The canteen opens at noon."),
        None,
        "unrelated: cannot tell"
    );
}

#[test]
fn leading_yes_or_no_is_split_off() {
    assert_eq!(split_yes_no("No, it does not."), (Some(false), "it does not."));
    assert_eq!(split_yes_no("Yes. It does."), (Some(true), "It does."));
    assert_eq!(split_yes_no("Nothing leaves."), (None, "Nothing leaves."));
    assert_eq!(
        split_yes_no("不会，数据留在服务器上。"),
        (Some(false), "数据留在服务器上。")
    );
    assert_eq!(split_yes_no("不会离开。"), (None, "不会离开。"));
    assert_eq!(split_yes_no("是的。可以上传。"), (Some(true), "可以上传。"));
    // The question's own verb, as the answer's lead.
    assert_eq!(split_yes_no("不需要，它不联网。"), (Some(false), "它不联网。"));
    assert_eq!(split_yes_no("需要。要先申请令牌。"), (Some(true), "要先申请令牌。"));
    assert_eq!(
        split_yes_no("会，每次启动都会清空。"),
        (Some(true), "每次启动都会清空。")
    );
    assert_eq!(split_yes_no("不应该。只写主机名。"), (Some(false), "只写主机名。"));
    assert_eq!(split_yes_no("有些文件会保留。"), (None, "有些文件会保留。"));
    assert_eq!(split_yes_no("需要申请令牌。"), (None, "需要申请令牌。"));
}

#[test]
fn regression_restating_the_question_is_no_answer() {
    assert!(!adds_to_question("如何提问？", "如何提问？"));
    assert!(!adds_to_question(
        "The users may read a document that is not public.",
        "Who may read a document that is not public?"
    ));
    assert!(adds_to_question(
        "Type a question in the Ask tab.",
        "How do I ask a question?"
    ));
    assert!(adds_to_question("在“问答”页输入问题。", "如何提问？"));
}

#[test]
fn regression_sentence_copied_from_a_wrapped_passage_was_not_about_its_passage() {
    // The passage's sentence breaks its line after "by the": its two halves were
    // compared apart, and the half with more shared words lacked the subject.
    let passage = "## Uploading documents\n\nAdministrators upload PDF, HTML, Markdown and text files. Each document is readable by the\ngroups it is assigned to, or by every employee when it is public.";
    let sentence = "Each document is readable by the groups it is assigned to, or by every employee when it is public.";
    assert!(keeps_subject(sentence, "Who can read an uploaded document?", passage));
    assert!(conflict(sentence, passage).is_none());
    // A break inside a clause must not part a negation from what it negates.
    let wrapped = "Backups are not\nencrypted by default.";
    assert!(conflict("Backups are not encrypted by default.", wrapped).is_none());
    assert!(conflict("Backups are encrypted by default.", wrapped).is_some());
}

#[test]
fn regression_citation_borrowed_from_a_passage_about_something_else() {
    let sockets = "The sshd.socket unit specifies a socket to listen on for SSH connections.";
    let question = "Does the appliance connect to the internet?";
    assert!(!keeps_subject(
        "The appliance connects to the internet by using the SSH socket.",
        question,
        sockets
    ));
    assert!(keeps_subject("No internet connection is used.", question, WELCOME));
    assert!(keeps_subject(
        "The appliance does not connect to the internet.",
        question,
        WELCOME
    ));
    // The question's verb moved into a passage sentence that does not have it.
    let uploading = "Administrators upload PDF, HTML, Markdown and text files. Each document is readable by \
the groups it is assigned to. Click a number to read the passage.";
    let who = "Who can read an uploaded document?";
    assert!(!keeps_subject(
        "Administrators can read PDF, HTML, Markdown and text files.",
        who,
        uploading
    ));
    assert!(keeps_subject(
        "Each document is readable by the groups it is assigned to.",
        who,
        uploading
    ));
}

#[test]
fn lead_ins_are_dropped() {
    assert_eq!(
        without_lead_in("The passage states that \"Type a question.\""),
        "Type a question.\""
    );
    assert_eq!(
        without_lead_in("According to the passage, it opens at 7."),
        "it opens at 7."
    );
    assert_eq!(without_lead_in("根据段落，食堂七点开门。"), "食堂七点开门。");
    assert_eq!(
        without_lead_in("根据用户提供的段落，系统主機名稱儲存在 /etc/hostname 文件中。"),
        "系统主機名稱儲存在 /etc/hostname 文件中。"
    );
    assert_eq!(without_lead_in("根據以上文檔，食堂七點開門。"), "食堂七點開門。");
    assert_eq!(
        without_lead_in("根据第二阶段的启动过程，内核先加载。"),
        "根据第二阶段的启动过程，内核先加载。",
        "a clause that is not about where the answer reads from stays"
    );
    assert_eq!(without_lead_in("It opens at 7."), "It opens at 7.");
}

#[test]
fn regression_sentence_without_its_key_word() {
    assert!(is_incomplete("The package that provides X is."));
    assert!(is_incomplete("The package that provides X is ."));
    assert!(is_incomplete("安装分为第 阶段。"));
    assert!(!is_incomplete("安装分为第 2 阶段。"));
    assert!(!is_incomplete("安装分为第二阶段。"));
    assert!(!is_incomplete("The package that provides X is coreutils."));
    // Before: "In , the program BIBTEX is required and the package biblatex provides the
    // bibliography style [1]." passed, its first word gone.
    assert!(is_incomplete("In , the program BIBTEX is required."));
    assert!(!is_incomplete("In fduthesis, the program biber is required."));
    assert!(!is_incomplete("Set it to a . for the current directory."));
}

/// Before: "/etc/fstab 里的设备节点必须是静态的吗？" was answered "[/2] [3]" by the 1.5B model:
/// the "2" inside a mangled marker was a number its passage holds.
#[test]
fn regression_a_mangled_marker_was_an_answer() {
    assert!(is_incomplete("[/2]"));
    assert!(is_incomplete("［2］。"));
    assert!(!is_incomplete("11:30 [1]."));
    assert!(!is_incomplete(
        "Boot scripts in /etc/init.d/rc[0123456S].d are still parsed."
    ));
}

#[test]
fn regression_prompt_instruction_echoed() {
    let instruction = "请只根据以上段落，用中文完整句子简短回答，并在句末用 [1] 这样的编号注明出处。";
    assert!(echoes_instructions(
        "请只根据以上段落，用中文完整句子简短回答。",
        &[instruction]
    ));
    assert!(!echoes_instructions("在“问答”页输入问题。", &[instruction]));
    let english = "Answer in English in one or two full sentences, using only the passages above.";
    assert!(echoes_instructions(
        "Answer in one or two full sentences using only the passages above.",
        &[english]
    ));
    assert!(!echoes_instructions("Type a question in the Ask tab.", &[english]));
}

#[test]
fn regression_yes_that_restates_the_question_against_default_off() {
    assert!(!polarity(
        "Draft mode is on by default.",
        "Enable draft mode. Default off."
    ));
    assert_eq!(
        words_not_in(
            "Rsyslogd is required on a systemd system.",
            "Under systemd, rsyslogd(8) may be uninstalled."
        ),
        vec!["requir"]
    );
    assert_eq!(
        answers_yes_covering(
            "Is rsyslogd required on a systemd system?",
            "Under systemd, the logging utility rsyslogd(8) may be uninstalled.",
            1.0
        ),
        None
    );
    assert_eq!(
        answers_yes_covering(
            "Can secret-tool store a password from the command line?",
            "secret-tool(1) can store password to the keyring from the command line.",
            1.0
        ),
        Some(true)
    );
}

/// Before: "secret-tool 能从命令行将密码存到钥匙环。" was left out of a yes/no answer for
/// saying "将", a grammatical particle its passage happened not to use.
#[test]
fn regression_a_chinese_particle_was_a_word_the_passage_lacks() {
    assert_eq!(
        words_not_in(
            "secret-tool 能从命令行将密码存到钥匙环。",
            "secret-tool(1) 能够从命令行存储密码到钥匙环。"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        words_not_in("Debian 8 之后用 systemd。", "Debian 8 以后用 systemd。"),
        Vec::<String>::new()
    );
    assert_eq!(
        words_not_in("systemd 不需要 rsyslogd。", "systemd 需要 journald。"),
        vec!["rsyslogd".to_owned()],
        "a name is still a word"
    );
}

#[test]
fn clauses_keep_dotted_words_whole() {
    assert_eq!(
        clauses("you must type in the “.bib” suffix. Then 3.5 runs"),
        vec!["you must type in the “.bib” suffix", "Then 3.5 runs"]
    );
}

#[test]
fn regression_a_subject_clause_read_as_yes_beside_its_negated_predicate() {
    // The 1.5B model answered "Yes"; the clause "while in fduthesis-en" matched the question
    // as well as "there is no abstract* environment" did, and was read alone.
    let statement = "In fduthesis, abstract and abstract* are used for Chinese and English abstract, respectively; \
                     while in fduthesis-en, there is no abstract* environment and you need to write the English abstract merely.";
    let question = "Does fduthesis-en have an abstract* environment?";
    assert_ne!(answers_yes(question, statement), Some(true));
    assert_ne!(answers_yes_covering(question, statement, 1.0), Some(true));
    // One clause holding both still answers.
    assert_eq!(
        answers_yes(question, "fduthesis-en has no abstract* environment."),
        Some(false)
    );
}

/// Before: every Chinese yes/no answer began "是的。" or "不是。", also "数据会离开服务器吗？",
/// which a person answers "不会。".
#[test]
fn a_chinese_yes_or_no_uses_the_questions_verb() {
    for (question, yes, no) in [
        ("数据会离开服务器吗？", "会。", "不会。"),
        ("管理员能上传 Markdown 文件吗？", "能。", "不能。"),
        ("管理员能不能上传 Excel 文件？", "能。", "不能。"),
        ("需不需要联网？", "需要。", "不需要。"),
        ("是否需要联网？", "需要。", "不需要。"),
        ("有没有停车位？", "有。", "没有。"),
        ("能否上传图片？", "能。", "不能。"),
        ("會議室可以預約嗎？", "可以。", "不可以。"),
        // 会 of 会议 is a noun; no verb left: the plain forms.
        ("会议在三楼吗？", "是的。", "不是。"),
        // A negated question is agreed with, not answered by its verb.
        ("数据不会离开服务器吗？", "是的。", "不是。"),
    ] {
        assert_eq!(yes_no_lead(question, true), yes, "{question}");
        assert_eq!(yes_no_lead(question, false), no, "{question}");
    }
    assert_eq!(yes_no_lead("Does it need a GPU?", false), "No.");
}

/// Before: true, cited sentences that do not speak of the question passed as its answer.
#[test]
fn regression_an_answer_about_something_else_passed() {
    for (answer, question) in [
        (
            "Nothing leaves this server: no internet connection is used.",
            "What does the knowledge assistant do?",
        ),
        ("GNOME system.", "Which GUI tool manages passwords on GNOME?"),
        (
            "This will list all processes running with PID=1 and show their full paths.",
            "How do I check which init my system really runs?",
        ),
    ] {
        assert!(!speaks_of_question(answer, question), "{question}");
    }
    for (answer, question) in [
        ("The boot loader is started by the UEFI.", "Who starts the boot loader?"),
        ("KERN_EMERG means system is unusable.", "What does KERN_EMERG mean?"),
        ("Type a question in the Ask tab.", "How do I ask a question?"),
        ("在“问答”页输入问题。", "如何提问？"),
        (
            "每份文档只对指定的用户组可见，或设为全体员工可见。",
            "文档上传后谁可以阅读？",
        ),
    ] {
        assert!(speaks_of_question(answer, question), "{question}");
    }
}

/// Asked "Is my question logged?" of the demo page, the draft "my question is not logged"
/// was called a contradiction of the heading "## Asking questions": one shared word. It is
/// unsupported, not contradicted, and implies no "yes".
#[test]
fn regression_one_shared_word_with_a_heading_was_a_contradiction() {
    let passage = "## Asking questions\n\nType a question in the Ask tab.";
    assert_eq!(conflict("My question is not logged.", passage), None);
    assert!(conflict("Questions are not typed in the Ask tab.", passage).is_some());
    assert!(
        clauses("# Title\n\nBody text here.")
            .iter()
            .all(|clause| !clause.starts_with('#'))
    );
}
