//! Is this text language? PDFs whose fonts lack a usable text map extract as mojibake:
//! private-use code points, control characters, or valid-looking but random ideographs.
//! Such text must never be indexed silently.

/// The ~300 most frequent Chinese characters: real Chinese prose draws about half its
/// characters from them, random ideographs almost none.
const COMMON_HANZI: &str = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵尖統這個們來為國說時會對進經過還學發現問題動實體關見點應開種長樣從當無與後產業機";

/// Fewer non-space characters than this cannot be judged and pass.
const MIN_JUDGED: usize = 40;

fn is_ideograph(character: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&character) || ('\u{3400}'..='\u{4DBF}').contains(&character)
}

fn is_plausible(character: char) -> bool {
    character.is_ascii_graphic()
        || is_ideograph(character)
        || ('\u{3000}'..='\u{303F}').contains(&character) // CJK punctuation
        || ('\u{FF01}'..='\u{FF5E}').contains(&character) // full-width forms
        || ('\u{2010}'..='\u{206F}').contains(&character) // general punctuation
        || ('\u{00C0}'..='\u{024F}').contains(&character) // Latin letters with accents
        || ('\u{0370}'..='\u{04FF}').contains(&character) // Greek, Cyrillic
        || ('\u{3040}'..='\u{30FF}').contains(&character) // kana
        || ('\u{AC00}'..='\u{D7AF}').contains(&character) // hangul
        || matches!(character, '·' | '×' | '÷' | '°' | '©' | '®' | '•' | '→' | '←' | '≤' | '≥' | '…')
}

/// The language of a passage for the chunk record: `zh` when a tenth or more of its
/// letters are ideographs, `en` when it has other letters, `und` otherwise.
pub fn language(text: &str) -> &'static str {
    let (mut ideographs, mut letters) = (0usize, 0usize);
    for character in text.chars().filter(|character| character.is_alphabetic()) {
        letters += 1;
        if is_ideograph(character) {
            ideographs += 1;
        }
    }
    match (ideographs, letters) {
        (_, 0) => "und",
        (ideographs, letters) if ideographs * 10 >= letters => "zh",
        _ => "en",
    }
}

/// The measurements behind [`looks_like_language`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextQuality {
    /// Non-space characters judged.
    pub characters: usize,
    /// Share of characters from scripts and punctuation that documents use.
    pub plausible: f64,
    /// Share of ideographs among the most common Chinese characters (1 if few ideographs).
    pub common_hanzi: f64,
    /// Share of letters and digits, dot leaders and rules not counted.
    pub alphanumeric: f64,
}

impl TextQuality {
    pub fn measure(text: &str) -> Self {
        let characters: Vec<char> = text.chars().filter(|character| !character.is_whitespace()).collect();
        let plausible = characters.iter().filter(|character| is_plausible(**character)).count();
        let ideographs: Vec<char> = characters
            .iter()
            .copied()
            .filter(|character| is_ideograph(*character))
            .collect();
        let common = ideographs
            .iter()
            .filter(|character| COMMON_HANZI.contains(**character))
            .count();
        // Tables of contents and rules are runs of dots, dashes and underscores.
        let counted: Vec<&char> = characters
            .iter()
            .filter(|character| !matches!(character, '.' | '-' | '_' | '=' | '·' | '…'))
            .collect();
        let alphanumeric = counted.iter().filter(|character| character.is_alphanumeric()).count();
        let share = |part: usize, whole: usize| if whole == 0 { 1.0 } else { part as f64 / whole as f64 };
        Self {
            characters: characters.len(),
            plausible: share(plausible, characters.len()),
            common_hanzi: if ideographs.len() >= 30 {
                share(common, ideographs.len())
            } else {
                1.0
            },
            alphanumeric: share(alphanumeric, counted.len()),
        }
    }

    pub fn is_language(&self) -> bool {
        self.characters < MIN_JUDGED
            || (self.plausible >= 0.85 && self.common_hanzi >= 0.15 && self.alphanumeric >= 0.3)
    }
}

/// Whether `text` reads as human language rather than extraction garbage.
pub fn looks_like_language(text: &str) -> bool {
    TextQuality::measure(text).is_language()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_passes() {
        assert!(looks_like_language(
            "The init program is executed as the first program with PID=1 to perform the main boot process."
        ));
        assert!(looks_like_language(
            "系统管理员可以在后台设定使用者群组与文件权限，并且可以查看所有的审计日志。这是一个测试文档，用来说明中文文本的判断。"
        ));
        assert!(looks_like_language("short"));
    }

    #[test]
    fn mojibake_fails() {
        let private_use: String = "\u{E001}\u{E0F2}\u{E113}a\u{E200}".repeat(20);
        assert!(!looks_like_language(&private_use));
        let random_ideographs: String = "鼯鼹鼷鼸鼺鼼鼽鼾齀齁齂齃齄齅齆齇齈齉齊齋齌齍齎齏齐齑".repeat(3);
        assert!(!looks_like_language(&random_ideographs));
        let symbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".repeat(4);
        assert!(!looks_like_language(&symbols));
    }
}
