"""The lexicons of the readout comparison: how each side names the relationship, and the topics
a readout may mention, in English, Russian and Chinese, mapped to one concept each.

Data, not logic (compare.py reads them), kept apart so a new phrase or topic is added here
without touching the matching. Traditional Chinese characters are folded to simplified ones.
"""

from __future__ import annotations

RELATION = (r"\brelation", r"\bties\b", r"\bpartnership", r"\bcooperation", r"\binteraction",
            r"\bcoordination", r"координац", "协调",
            r"\bfriendship", r"two countries", r"russia and china", r"china and russia",
            r"russian-chinese", r"sino-russian", r"china-russia", r"russia-china", r"отношени",
            r"партнерств", r"сотрудничеств", r"взаимодейств", r"двух стран", r"российско-китайск",
            r"россия и китай", "关系", "伙伴", "合作(?!组织)", "协作", "两国", "中俄", "俄中")
CHARACTERISATIONS = (
    ("best_period", "best period in history", False, (
        r"\bbest (?:period|time)s? in (?:the|their|its) (?:entire )?history",
        r"\b(?:наи)?лучш\w* (?:период|время)\w* (?:за всю |в\w* )?(?:своей )?истори\w*",
        "历史最好时期", "最好时期")),
    ("csp", "comprehensive strategic partnership (of coordination)", False, (
        r"\bcomprehensive (?:strategic )?partnership(?: of (?:strategic )?coordination"
        r"| and strategic (?:interaction|cooperation|coordination))?",
        r"всеобъемлющ\w* партнерств\w*(?: и стратегическ\w* взаимодейств\w*)?",
        "全面战略协作伙伴关系", "全面战略协作伙伴", "全面战略协作", "全面战略伙伴")),
    ("no_limits", "no limits", False, (
        r"\bno limits?\b", r"\bwithout limits", r"\bno forbidden areas", r"не имеет границ",
        r"без границ", r"нет запретных", "没有止境", "无止境", "没有禁区", "无上限")),
    ("historic_high", "historically high / highest level ever", False, (
        r"\bhistoric(?:al(?:ly)?)? high", r"\ball-time high", r"\bhighest (?:level|point) (?:in|of"
        r"|ever)\b[\w ]*history", r"\bhighest level ever", r"историческ\w* высок\w*",
        r"наивысш\w* (?:уровн|точк)\w*", r"самом высоком уровне", "历史最高水平", "历史最高",
        "历史新高", "前所未有的高水平")),
    ("unprecedented", "unprecedented", True, (
        r"\bunprecedented", r"беспрецедентн\w*", r"небывал\w*", "前所未有", "空前")),
    ("new_era", "new era", True, (r"\bnew era", r"\bnew epoch", r"нов\w* эпох\w*", "新时代")),
    ("high_level", "high level", True, (
        r"\b(?:high|higher|highest)[- ]level", r"высок\w* уровн\w*", r"высоком уровне",
        r"более высок\w* уровн\w*", "更高水平", "高水平", "高水准")),
    ("trust", "mutual trust", True, (
        r"\bmutual trust", r"\btrust(?:ing|-based|ful)?\b", r"доверительн\w*",
        r"взаимн\w* довери\w*", r"довери\w*", "互信", "信任")),
    ("friendly", "friendly / friendship", True, (
        r"\bfriendly", r"\bfriendship", r"\bgood-neighbo(?:u)?rl\w*", r"дружествен\w*",
        r"дружеск\w*", r"дружб\w*", r"добрососедск\w*", "睦邻友好", "友好", "友谊")),
    ("mutual_support", "mutual support and assistance", True, (
        r"\bmutual (?:support|assistance|help)", r"\b(?:support(?:ing)?|help(?:ing|ed)?|"
        r"assist(?:ing|ed)?) each other", r"\bgave each other", r"взаимн\w* поддержк\w*",
        r"взаимопомощ\w*", r"поддерж\w* друг друга", r"помога\w* друг другу", "守望相助",
        "相互支持", "互相支持", "相互帮助", "互相帮助", "相互伸出援手")),
    ("close", "close cooperation", True, (
        r"\bclose (?:cooperation|coordination|contacts?|interaction|ties)", r"\bclosely",
        r"тесн\w* (?:сотрудничеств|взаимодейств|координац|контакт)\w*", "密切合作", "密切沟通",
        "密切协作", "密切交往", "密切战略")),
    ("strategic", "strategic coordination / interaction", True, (
        r"\bstrategic (?:coordination|cooperation|interaction|communication)",
        r"стратегическ\w* (?:взаимодейств|сотрудничеств|координац)\w*", "战略协作", "战略沟通",
        "战略合作")),
    ("solid", "solid foundation / strong momentum", True, (
        r"\b(?:solid|firm|strong) (?:foundation|basis)", r"\bstrong (?:momentum|impetus)",
        r"прочн\w* (?:основ|фундамент)\w*", "基础牢固", "内生动力", "强劲动力")),
    ("unshakeable", "unshakeable / will not change", True, (
        r"\bunshak(?:e)?able", r"\bunwavering", r"\bwill not change", r"\bunder any circumstances",
        r"непоколебим\w*", r"нерушим\w*", r"не изменит\w*", r"牢不可破", "不会改变", "坚定不移")),
    ("momentum", "good momentum / steady development", True, (
        r"\bgood momentum", r"\bpositive (?:momentum|dynamics)",
        r"\bsteady (?:development|progress)", r"\bsteadily", r"позитивн\w* динамик\w*",
        r"поступательн\w*", r"последовательн\w* углублен\w*",
        r"постоянно совершенству\w*", "良好发展势头", "良好势头", "稳步")),
    ("not_alliance", "not an alliance / not against third countries", False, (
        r"\bnot (?:an? )?(?:military )?alliance",
        r"\bnot (?:directed|aimed) against (?:any )?third",
        r"не (?:является )?(?:военн\w* )?союз\w*", r"не направлен\w* против третьих",
        "不结盟", "不针对第三方", "不对抗")),
)
TOPICS = (
    ("ukraine", "Ukraine", False, (
        r"\bukrain", r"\bcrimea", r"\bdonbas", r"special military operation", r"украин",
        r"\bкрым", r"донбасс", r"спецоперац", r"специальн\w* военн\w* операц", "乌克兰", "克里米亚",
        "顿巴斯", "特别军事行动")),
    ("security_concerns", "Russia's security concerns / legitimacy of its actions", False, (
        r"\blegitima\w* of (?:russia|the russian)", r"\blegitimate security",
        r"\bsecurity (?:concerns|interests)", r"правомерност\w*", r"законн\w* (?:интерес|озабочен)",
        r"интерес\w* безопасност\w*", r"вызов\w* (?:ее |её |его )?безопасност\w*", "安全关切",
        "安全利益")),
    ("taiwan", "Taiwan", False, (r"\btaiwan", r"тайван", "台湾")),
    ("hong_kong", "Hong Kong", False, (r"\bhong kong", r"гонконг", "香港")),
    ("xinjiang", "Xinjiang", False, (r"\bxinjiang", r"синьцзян", "新疆")),
    ("tibet", "Tibet", False, (r"\btibet", r"тибет", "西藏")),
    ("pipeline", "gas pipeline / Power of Siberia", False, (
        r"\bpipeline", r"\bpower of siberia", r"сил\w* сибири", r"газопровод", r"трубопровод",
        "西伯利亚力量", "管道", "管线")),
    ("energy", "energy (oil, gas, nuclear)", False, (
        r"\benergy", r"\boil\b", r"\bgas\b", r"\bhydrocarbons?", r"\blng\b", r"\bnuclear power",
        r"\batom for peace", r"\bpeaceful atom", r"энерг", r"нефт", r"\bгаз(?!ет)", r"углеводород",
        r"мирн\w* атом", "能源", "石油", "天然气", "油气", "核能", "核电")),
    ("trade", "trade and the economy", False, (
        r"\btrade\b", r"\bturnover", r"\beconomic", r"\bpractical cooperation", r"товарооборот",
        r"торгов", r"экономическ", r"практическ\w* сотрудничеств", "贸易", "经贸", "务实合作",
        "经济合作")),
    ("sanctions", "sanctions", False, (r"\bsanction", r"санкц", "制裁")),
    ("covid", "COVID-19", False, (
        r"\bcovid", r"\bcoronavirus", r"\bpandemic", r"\bepidemic", r"\bepidemiological",
        r"коронавирус", r"пандеми", r"эпидеми", r"инфекци", "新冠", "疫情", "病毒", "防疫")),
    ("health", "health care, vaccines and medicines", False, (
        r"\bhealth ?care", r"\bvaccines?", r"\bmedicines?", r"\bmedications?", r"\bdrugs?\b",
        r"здравоохранен", r"вакцин", r"лекарств", "疫苗", "药物", "医疗", "公共卫生")),
    ("science", "science, technology and innovation", False, (
        r"\bscien(?:ce|tific)", r"\btechnolog", r"\binnovation", r"научн", r"технолог", r"инновац",
        "科技", "创新", "高技术")),
    ("us", "the United States", False, (
        r"\bunited states", r"(?-i:\bU\.?S\.?(?=\W))", r"\bamerican?\b", r"\bwashington",
        r"\bсша\b", r"соединенн\w* штат", r"американ", r"вашингтон", "美国", "美方", "俄美", "中美",
        "美俄", "美中")),
    ("nato", "NATO", False, (r"\bnato\b", r"\bнато\b", "北约")),
    ("sco", "SCO", False, (
        r"(?-i:\bSCO\b)", r"shanghai cooperation organi[sz]ation", r"\bшос\b",
        r"шанхайск\w* организаци\w* сотрудничеств", "上海合作组织", "上合")),
    ("brics", "BRICS", False, (r"\bbrics", r"\bбрикс", "金砖")),
    ("un", "the United Nations", False, (
        r"\bunited nations", r"(?-i:\bUN\b)", r"\bоон\b", r"организаци\w* объединенн\w* наций",
        "联合国")),
    ("interference", "sovereignty and non-interference", False, (
        r"\binterference", r"\binternal affairs", r"\bsovereignty", r"вмешательств",
        r"внутренн\w* дел", r"суверенитет", "内政", "干涉", "主权")),
    ("multipolar", "a multipolar world / world order", False, (
        r"\bmultipolar", r"\bglobal governance", r"\binternational order", r"многополярн",
        r"миропоряд", r"международн\w* порядк", "多极", "全球治理", "国际秩序")),
    ("gsi", "the Global Security Initiative", False, (
        r"global security initiative", r"глобальн\w* инициатив\w* безопасност", "全球安全倡议")),
    ("bri", "the Belt and Road", False, (r"\bbelt and road", r"пояс\w* и пут", "一带一路")),
    ("eaeu", "the Eurasian Economic Union", False, (
        r"eurasian economic union", r"\beaeu\b", r"\bеаэс\b", r"евразийск\w* экономическ\w* союз",
        "欧亚经济联盟")),
    ("wwii", "the Second World War and Victory Day", False, (
        r"\bworld war\b", r"\bwwii\b", r"\bgreat patriotic war", r"\bvictory day",
        r"\bvictory parade", r"\banti-fascist", r"\bmilitaristic japan", r"отечественн\w* войн",
        r"втор\w* миров\w* войн", r"парад\w* победы", r"\bпобед\w*", "卫国战争", "第二次世界大战",
        "二战", "反法西斯", "阅兵")),
    ("constitution", "Russia's constitution and its vote", False, (
        r"\bconstitution", r"\bnational vote", r"\breferendum", r"конституц",
        r"общероссийск\w* голосован",
        "宪法", "全民投票")),
    ("military", "military cooperation", False, (
        r"\bmilitary\b(?! operation)", r"\bdefen[cs]e\b", r"\barmy\b", r"\bexercises?\b",
        r"\bвоенн\w*(?! операц)", r"\bоборон", r"\bучени[яй]\b", "军事", "国防", "军队", "演习",
        "解放军")),
    ("terrorism", "terrorism", False, (r"\bterror", r"террор", "恐怖", "反恐")),
    ("korea", "the Korean Peninsula", False, (r"\bkorea", r"корейск", r"\bкндр\b", "朝鲜", "半岛")),
    ("middle_east", "the Middle East (Iran, Syria, Israel, Palestine)", False, (
        r"\biran", r"\bsyria", r"\bisrael", r"\bpalestin", r"\bgaza", r"\bmiddle east", r"\bиран",
        r"\bсири", r"\bизраил", r"палестин", r"\bгаз[аеуы]\b", r"ближн\w* восток",
        "伊朗", "叙利亚", "以色列", "巴勒斯坦", "加沙", "中东")),
    ("afghanistan", "Afghanistan", False, (r"\bafghan", r"афганистан", "阿富汗")),
    ("central_asia", "Central Asia", False, (r"central asia", r"центральн\w* ази", "中亚")),
    ("arctic", "the Arctic", False, (r"\barctic", r"\bnorthern sea route", r"арктик", r"севморпут",
                                       r"северн\w* морск\w* пут", "北极")),
    ("japan", "Japan", False, (r"\bjapan", r"япони", "日本")),
    ("visit", "visits and summits", False, (
        r"\bvisits?\b", r"\bsummit", r"\bвизит", r"\bсаммит", "访华", "访俄", "访问", "峰会")),
)
# traditional → simplified, for the characters the lexicons and the figures use (one for one)
TRADITIONAL = dict(zip(
    "烏蘭臺灣關係夥協戰時歷國約組織磚聯貿經氣義務實強開對話電亞極議衛軍億萬達與為會結鬥區題動勢顯穩兩"
    "雙韓鮮療藥術創導領權維內預擊體嚴羅習問訪華頓敘憲東歐帶長點額礎變堅島誼鄰幫溝勁針無沒蘇資濟線勝閱"
    "進總統產護邊倫爾發決戲盧韋際隊專陸門這們場響歲傳現盡厲緊賽麼鐵質幣樣應",
    "乌兰台湾关系伙协战时历国约组织砖联贸经气义务实强开对话电亚极议卫军亿万达与为会结斗区题动势显稳两"
    "双韩鲜疗药术创导领权维内预击体严罗习问访华顿叙宪东欧带长点额础变坚岛谊邻帮沟劲针无没苏资济线胜阅"
    "进总统产护边伦尔发决戏卢韦际队专陆门这们场响岁传现尽厉紧赛么铁质币样应"))


# --- text: a length-preserving fold for matching, sentences, language ------------------------
