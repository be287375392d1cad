"""The service catalogue and its guidance: reference data loaded in every environment."""

import json
from collections.abc import Callable
from pathlib import Path

# Guidance texts are written side by side as (English, Simplified Chinese) pairs so that the two
# languages cannot drift apart; GUIDANCE at the bottom splits them into one entry per language.

_Text = tuple[str, str]

_LANGUAGES: tuple[str, ...] = ("EN", "ZH")
_FIRST_EDITION = "2025-01-01"

# The further languages of the people the service is for. Their texts are unofficial
# translations of the Chinese text (which prevails), kept as data in catalogue_i18n/<lang>.json:
# each entry names the (Chinese, English) pair it translates, so an edited source text leaves
# its translation unused instead of silently mistranslated.
TRANSLATED_LANGUAGES: tuple[str, ...] = ("KO", "JA", "RU", "FR", "ES", "AR")
TRANSLATIONS_DIR = Path(__file__).with_name("catalogue_i18n")


def load_translations(lang: str) -> dict:
    """One language's file: `official_notice`, `services` (code to name) and `texts` (a list
    of {"zh", "en", "text"})."""
    return json.loads((TRANSLATIONS_DIR / f"{lang.lower()}.json").read_text(encoding="utf-8"))


_TRANSLATIONS: dict[str, dict] = {lang: load_translations(lang) for lang in TRANSLATED_LANGUAGES}

SERVICES: list[dict] = [
    {
        "code": "VISA_EXTENSION",
        "name": {"EN": "Visa extension", "ZH": "签证延期"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "VISA_RENEWAL",
        "name": {"EN": "Visa renewal", "ZH": "签证换发"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "VISA_REISSUANCE",
        "name": {"EN": "Visa reissuance", "ZH": "签证补发"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "STAY_PERMIT_ISSUANCE",
        "name": {"EN": "Stay permit issuance", "ZH": "停留证件签发"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "STAY_PERMIT_EXTENSION",
        "name": {"EN": "Stay permit extension", "ZH": "停留证件延期"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "STAY_PERMIT_RENEWAL",
        "name": {"EN": "Stay permit renewal", "ZH": "停留证件换发"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "STAY_PERMIT_REISSUANCE",
        "name": {"EN": "Stay permit reissuance", "ZH": "停留证件补发"},
        "group": "VISA",
        "processing_working_days": 7,
    },
    {
        "code": "RESIDENCE_PERMIT_ISSUANCE",
        "name": {"EN": "Residence permit issuance", "ZH": "居留许可签发"},
        "group": "RESIDENCE",
        "processing_working_days": 15,
    },
    {
        "code": "RESIDENCE_PERMIT_EXTENSION",
        "name": {"EN": "Residence permit extension", "ZH": "居留许可延期"},
        "group": "RESIDENCE",
        "processing_working_days": 15,
    },
    {
        "code": "RESIDENCE_PERMIT_RENEWAL",
        "name": {"EN": "Residence permit renewal", "ZH": "居留许可换发"},
        "group": "RESIDENCE",
        "processing_working_days": 15,
    },
    {
        "code": "RESIDENCE_PERMIT_REISSUANCE",
        "name": {"EN": "Residence permit reissuance", "ZH": "居留许可补发"},
        "group": "RESIDENCE",
        "processing_working_days": 15,
    },
]

for _service in SERVICES:
    # A language without a name for a service shows the English one (see schema ServiceType).
    _service["name"].update(
        {
            lang: name
            for lang in TRANSLATED_LANGUAGES
            if (name := _TRANSLATIONS[lang]["services"].get(_service["code"]))
        }
    )


def _material(
    name: _Text,
    description: _Text | None,
    *,
    required: bool = True,
    condition: _Text | None = None,
    copies: int | None = None,
    applies_to: tuple[str, ...] = (),
) -> dict:
    """One material; `applies_to` lists the visa categories (Z, X1, ...) and residence purposes
    (WORK, STUDY, ...) of the people it is for, the machine-readable side of `condition` (empty:
    everyone). Only a condition about the person's category gets tags: one about the reason
    (loss, illness, a changed name) applies to anyone in that situation."""
    return {
        "name": name,
        "description": description,
        "required": required,
        "condition": condition,
        "copies": copies,
        "applies_to": applies_to,
    }


def _fee(item: _Text, amount: str, condition: _Text | None = None) -> dict:
    return {"item": item, "amount": amount, "condition": condition}


# Materials asked for by every service; the passport and purpose documents differ per service.

_APPLICATION_FORM = _material(
    ("Visa and residence permit application form", "外国人签证证件申请表"),
    (
        "The Foreigner's Visa and Residence Permit Application Form of the PRC, filled in online "
        "or at the hall and signed by the applicant (by a parent or guardian for applicants "
        "under 16).",
        "《中华人民共和国外国人签证证件申请表》，可在网上或大厅填写，"
        "由申请人本人签名（未满16周岁的由父母或监护人代签）。",
    ),
    copies=1,
)

_PHOTO = _material(
    ("Photo", "照片"),
    (
        "One recent colour photo, 33 mm wide and 48 mm high, bareheaded, full face, on a white "
        "background, taken within the last 6 months; glasses frames must not cover the eyes. "
        "The digital photo receipt of a certified photo studio is also accepted.",
        "近6个月内拍摄的彩色证件照片1张，宽33毫米、高48毫米，免冠、正面、白色背景，"
        "眼镜框不得遮挡眼睛；也可提交经认证照相馆出具的数码照片回执。",
    ),
    copies=1,
)

_ACCOMMODATION_REGISTRATION = _material(
    ("Registration Form of Temporary Residence", "境外人员临时住宿登记表"),
    (
        "Issued by the local police station within 24 hours of moving in (hotels register "
        "their guests themselves); it must show your current address.",
        "入住后24小时内由住地派出所出具（入住宾馆的由宾馆代为登记），须显示当前住址。",
    ),
    copies=1,
)

_RECEIPT_STEP: _Text = (
    "Pay the fee and keep the acceptance receipt: while your passport is held for processing, "
    "the receipt proves that your stay is lawful.",
    "缴纳费用并妥善保存受理回执：护照被收存办理期间，受理回执可证明您在华合法停留。",
)


def _visa_reciprocal_fee(item: _Text) -> dict:
    return _fee(
        item,
        "185.00",
        (
            "Nationals of countries to which China applies reciprocal fees pay the reciprocal "
            "amount; the published reciprocal fee table prevails over this sample amount.",
            "对中国公民收取不同费用的国家的公民，按对等原则收费；"
            "以公布的对等收费标准为准，此处金额为示例。",
        ),
    )


def _residence_fees(item: _Text, basis: _Text) -> list[dict]:
    """The three residence permit fee rows; `basis` says which validity the tiers refer to."""
    en_basis, zh_basis = basis
    return [
        _fee(item, "400.00", (f"{en_basis} is less than 1 year", f"{zh_basis}不满1年")),
        _fee(
            item,
            "800.00",
            (
                f"{en_basis} is 1 year or more but less than 3 years",
                f"{zh_basis}1年以上（含1年）不满3年",
            ),
        ),
        _fee(item, "1000.00", (f"{en_basis} is 3 to 5 years", f"{zh_basis}3年以上（含3年）至5年")),
    ]


_LAW = ("Exit and Entry Administration Law of the PRC", "《中华人民共和国出境入境管理法》")
_REGULATIONS = (
    "Regulations on the Administration of the Entry and Exit of Foreigners",
    "《中华人民共和国外国人入境出境管理条例》",
)


def _article(source: _Text, number: int, zh_number: str, en_topic: str, zh_topic: str) -> _Text:
    return (
        f"{source[0]}, Article {number} ({en_topic})",
        f"{source[1]}第{zh_number}条（{zh_topic}）",
    )


_GUIDANCE_SOURCES: list[dict] = [
    {
        "service": "VISA_EXTENSION",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You hold an ordinary visa whose permitted duration of stay has not yet ended, and "
                "you have a genuine reason to stay longer, such as unfinished business, medical "
                "treatment, caring for a sick relative or force majeure.",
                "持有停留期限尚未届满的普通签证，并有合理、充分的延期理由，"
                "如商务活动未完成、就医、照料患病亲属或遇不可抗力等。",
            ),
            (
                "Apply at least 7 days before the duration of stay stated on the visa ends; a "
                "later application may be refused.",
                "应当在签证注明的停留期限届满七日前提出申请；逾期申请的，可能不予受理。",
            ),
            (
                "Extensions may not add up to more than the duration of stay originally stated on "
                "the visa: a visa with a 30-day stay can be extended by at most 30 days in total.",
                "累计延长的停留期限不得超过签证原注明的停留期限："
                "例如停留期为30日的签证，累计最多延长30日。",
            ),
            (
                "The extension applies to the current entry only; it changes neither the number "
                "of entries nor the entry validity of the visa, and you must keep to the original "
                "purpose of your stay.",
                "延期仅对本次入境有效，不改变签证的入境次数和入境有效期，"
                "您应当按照原签证规定的事由停留。",
            ),
            (
                "Apply in person. A relative or the inviting entity may apply for applicants "
                "under 16, over 60, or unable to come because of illness.",
                "申请人应当本人到场申请；未满16周岁、已满60周岁或因疾病等原因行动不便的，"
                "可由亲属或邀请单位代为申请。",
            ),
        ],
        "materials": [
            _material(
                ("Passport", "护照"),
                (
                    "Original passport with the current visa and the latest entry stamp, plus a "
                    "photocopy of the photo page, the visa page and the entry stamp page.",
                    "护照原件（含现持签证及最近一次入境验讫章），"
                    "以及资料页、签证页和入境章页的复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Proof of the reason for the extension", "延期事由证明材料"),
                (
                    "A document showing why you need more time, e.g. a letter from your Chinese "
                    "business partner, a hospital certificate, or proof that your transport was "
                    "cancelled by force majeure.",
                    "说明需要延长停留期限原因的材料，如中方合作单位出具的函件、"
                    "医院证明或因不可抗力取消交通班次的证明。",
                ),
                copies=1,
            ),
            _material(
                ("Letter from the inviting entity", "邀请单位函件"),
                (
                    "Letter stamped by the inviting company or organisation stating the reason "
                    "and the period requested, with a copy of its business licence or "
                    "registration certificate.",
                    "邀请单位加盖公章的函件，写明延期事由及申请延长的期限，"
                    "并附营业执照或登记证书复印件。",
                ),
                condition=(
                    "Holders of M (business) and F (exchange) visas",
                    "持M字（商贸）、F字（交流访问）签证的",
                ),
                copies=1,
                applies_to=("M", "F"),
            ),
            _material(
                ("Proof of family relationship", "亲属关系证明"),
                (
                    "Invitation from the relative living in China with a copy of his or her ID "
                    "card or residence permit, and a certificate of kinship (notarised and "
                    "legalised if issued abroad).",
                    "在华亲属出具的邀请函件及其身份证或居留证件复印件，"
                    "以及亲属关系证明（境外出具的须经公证、认证）。",
                ),
                condition=("Holders of Q2 and S2 visas visiting family", "持Q2字、S2字签证探亲的"),
                applies_to=("Q2", "S2"),
            ),
            _material(
                ("Medical certificate", "医疗证明"),
                (
                    "Certificate from a hospital at or above county level stating the diagnosis "
                    "and the expected length of treatment.",
                    "县级以上医院出具的诊断证明，写明病情及预计治疗时间。",
                ),
                condition=("Extension for medical treatment", "因就医申请延期的"),
                copies=1,
            ),
            _material(
                ("Proof of funds", "经济保障证明"),
                (
                    "Bank statement or other proof that you can pay for the extended stay.",
                    "银行流水或其他能证明延期停留期间费用有保障的材料。",
                ),
                required=False,
                condition=(
                    "May be requested from holders of L (tourist) visas",
                    "持L字（旅游）签证的，根据需要提交",
                ),
                applies_to=("L",),
            ),
        ],
        "steps": [
            (
                "Book an appointment at an exit-entry service centre in the city where you are "
                "staying, no later than 7 days before your permitted stay ends.",
                "在停留期限届满七日前，预约停留地出入境接待大厅的办理时段。",
            ),
            (
                "Come in person at the booked time with all originals; the officer checks the "
                "materials, takes your fingerprints and may ask about the purpose of your stay.",
                "按预约时间本人携带全部原件到场，工作人员审核材料、采集指纹，并可能询问停留事由。",
            ),
            _RECEIPT_STEP,
            (
                "Collect your passport, endorsed with the new duration of stay, on the date shown "
                "on the receipt (7 working days), or choose postal return at acceptance where it "
                "is offered.",
                "按受理回执注明的日期（7个工作日）领取加注新停留期限的护照，"
                "或在受理时选择邮寄送达（如提供）。",
            ),
        ],
        "fees": [
            _fee(("Visa extension", "签证延期"), "160.00"),
            _visa_reciprocal_fee(("Visa extension, reciprocal fee", "签证延期（对等收费）")),
        ],
        "legal_basis": [
            _article(_LAW, 29, "二十九", "extension of the duration of stay", "签证停留期限的延长"),
            _article(_LAW, 39, "三十九", "accommodation registration", "住宿登记"),
            _article(
                _REGULATIONS,
                14,
                "十四",
                "effect of a decision to extend the stay",
                "延长签证停留期限决定的效力",
            ),
        ],
    },
    {
        "service": "VISA_RENEWAL",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You hold a valid ordinary visa that has to be replaced because you have a new "
                "passport, because national rules allow your purpose of stay to change or grant "
                "you entry facilitation (such as multiple entries), or because your tour group "
                "on a group visa has to split up for reasons beyond its control.",
                "持有有效普通签证，并因下列情形之一需要换发：已换领新护照；"
                "按照国家规定可以变更停留事由或给予入境便利（如多次入境）；"
                "持团体签证入境后由于客观原因需要分团停留。",
            ),
            (
                "Apply before the duration of stay on your current visa ends; an expired visa "
                "cannot be renewed.",
                "应当在现持签证停留期限届满前申请；签证已过期的，不予换发。",
            ),
            (
                "If your purpose changes to work, study or family reunion, apply for a residence "
                "permit instead of renewing the visa.",
                "停留事由变更为工作、学习或家庭团聚的，应当申请居留许可，而非换发签证。",
            ),
            (
                "Apply in person; your fingerprints are taken.",
                "申请人应当本人到场申请并留存指纹。",
            ),
        ],
        "materials": [
            _material(
                ("Passport", "护照"),
                (
                    "Original passport. If the visa is in an old passport, bring both the old and "
                    "the new passport, plus photocopies of the photo pages and the visa page.",
                    "护照原件；签证在旧护照上的，须同时提交新、旧护照原件，"
                    "以及资料页和签证页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Statement of the reason for renewal", "换发事由说明"),
                (
                    "Your written statement, or a letter from the inviting entity, explaining why "
                    "the visa has to be replaced.",
                    "申请人书面说明或邀请单位出具的函件，说明需要换发签证的原因。",
                ),
                copies=1,
            ),
            _material(
                ("Letter from the travel agency", "旅行社函件"),
                (
                    "Letter from the travel agency that organised the group, with the group visa "
                    "list and the names of the members who leave the group.",
                    "组团旅行社出具的函件，附团体签证名单及需分团停留人员名单。",
                ),
                condition=(
                    "Members of a tour group that entered on a group visa",
                    "持团体签证入境的旅游团成员",
                ),
            ),
            _material(
                ("Documents for the new purpose of stay", "变更事由证明材料"),
                (
                    "The materials required for the visa category applied for, e.g. an "
                    "invitation from a Chinese trading partner for an M visa.",
                    "所申请签证种类对应的材料，如申请M字签证的，须提交中方贸易伙伴的邀请函件。",
                ),
                condition=("Change of the purpose of stay", "变更停留事由的"),
                copies=1,
            ),
        ],
        "steps": [
            (
                "Book an appointment; if unsure whether your reason qualifies for a renewal, ask "
                "the centre by phone first.",
                "预约办理时段；不确定换发事由是否符合规定的，可先致电接待大厅咨询。",
            ),
            (
                "Come in person; the officer reviews your passport or passports and the "
                "supporting documents and takes your fingerprints.",
                "本人到场，工作人员审核护照及证明材料并采集指纹。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the passport with the new visa after 7 working days; the old visa is "
                "cancelled at the same time.",
                "7个工作日后领取贴有新签证的护照，原签证同时作废。",
            ),
        ],
        "fees": [
            _fee(("Visa renewal", "签证换发"), "160.00"),
            _visa_reciprocal_fee(("Visa renewal, reciprocal fee", "签证换发（对等收费）")),
        ],
        "legal_basis": [
            _article(
                _LAW,
                35,
                "三十五",
                "renewal and reissuance of visas and stay or residence permits",
                "签证及停留居留证件的换发、补发",
            ),
            _article(_REGULATIONS, 13, "十三", "cases for renewing a visa", "换发签证的情形"),
        ],
    },
    {
        "service": "VISA_REISSUANCE",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "While you are in China, your visa has been lost or stolen, or damaged so badly "
                "that it can no longer be read.",
                "在中国境内期间，所持签证遗失、被盗抢，或损毁至无法识读。",
            ),
            (
                "Report a loss or theft to the police promptly. If the passport was lost too, "
                "first obtain a new passport or travel document from your embassy or consulate.",
                "遗失或被盗抢的，应当及时向公安机关报失；护照一并遗失的，"
                "须先向本国驻华使领馆申领新护照或旅行证件。",
            ),
            (
                "The reissued visa has the same category and the same remaining stay as the lost "
                "one; reissuance cannot lengthen your stay.",
                "补发的签证种类及剩余停留期限与原签证一致，不能借补发延长停留期限。",
            ),
            (
                "Apply in person; your fingerprints are taken.",
                "申请人应当本人到场申请并留存指纹。",
            ),
        ],
        "materials": [
            _material(
                ("Passport or new travel document", "护照或新旅行证件"),
                (
                    "The passport containing the damaged visa, or the new passport or travel "
                    "document issued by your embassy or consulate after the loss, plus a "
                    "photocopy of its photo page.",
                    "含损毁签证的护照原件，或遗失后本国驻华使领馆签发的新护照或旅行证件原件，"
                    "以及资料页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Loss report certificate", "报失证明"),
                (
                    "Certificate of the loss or theft report issued by the police station, or "
                    "the loss report receipt of the exit-entry administration.",
                    "派出所出具的遗失或被盗抢报案证明，或出入境管理机构出具的报失回执。",
                ),
                condition=("Visa lost or stolen", "签证遗失或被盗抢的"),
                copies=1,
            ),
            _material(
                ("The damaged visa", "损毁的签证"),
                (
                    "Hand in the damaged visa, even if only fragments remain, so that it can be "
                    "cancelled.",
                    "交回损毁的签证（即使仅存残片），以便注销。",
                ),
                condition=("Visa damaged", "签证损毁的"),
            ),
            _material(
                ("Proof of entry", "入境证明"),
                (
                    "Entry record printed by the exit-entry administration, or a copy of the "
                    "entry stamp, showing the date and port of your last entry.",
                    "出入境管理机构打印的入境记录或入境验讫章复印件，显示最近一次入境的日期和口岸。",
                ),
                condition=("New passport issued after the loss", "遗失后已换领新护照的"),
                copies=1,
            ),
        ],
        "steps": [
            (
                "Report the loss at the police station where it happened and, if the passport "
                "was lost too, obtain a new one from your embassy or consulate.",
                "到遗失地派出所报失；护照一并遗失的，向本国驻华使领馆申领新护照。",
            ),
            (
                "Book an appointment and come in person with the loss report, the new passport "
                "and the other materials; the officer checks your entry record.",
                "预约后本人携带报失证明、新护照及其他材料到场办理，工作人员核查入境记录。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the passport with the reissued visa after 7 working days.",
                "7个工作日后领取贴有补发签证的护照。",
            ),
        ],
        "fees": [
            _fee(("Visa reissuance", "签证补发"), "160.00"),
            _visa_reciprocal_fee(("Visa reissuance, reciprocal fee", "签证补发（对等收费）")),
        ],
        "legal_basis": [
            _article(
                _LAW,
                35,
                "三十五",
                "renewal and reissuance of visas and stay or residence permits",
                "签证及停留居留证件的换发、补发",
            ),
            _article(
                _LAW,
                38,
                "三十八",
                "carrying and presenting identity documents",
                "随身携带证件并接受查验",
            ),
        ],
    },
    {
        "service": "STAY_PERMIT_ISSUANCE",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You entered without a visa (under a visa-exemption agreement, the unilateral "
                "visa-free policy or visa-free transit) and have a justified reason to stay "
                "beyond the visa-free period; or you are a foreign crew member, or an "
                "accompanying family member, who needs to leave the port city; or another case "
                "requires a stay permit, such as a foreign child born in China.",
                "免办签证入境（依据互免签证协议、单方面免签政策或过境免签）且有正当理由"
                "需要超过免签期限停留；或外国船员及其随行家属需要离开港口所在城市；"
                "或具有需要办理停留证件的其他情形，如在中国境内出生的外国籍婴儿。",
            ),
            (
                "Apply before the visa-free period ends: staying beyond it without a permit is "
                "illegal stay.",
                "应当在免签停留期限届满前申请：期满后未取得停留证件继续停留的，属于非法停留。",
            ),
            (
                "A stay permit is issued for the purpose stated in the application and is valid "
                "for at most 180 days.",
                "停留证件按申请事由签发，有效期最长为180日。",
            ),
            (
                "Apply in person; parents apply for a child born in China.",
                "申请人应当本人到场；在中国境内出生的婴儿由父母代为申请。",
            ),
        ],
        "materials": [
            _material(
                ("Passport", "护照"),
                (
                    "Original passport with the entry stamp, plus photocopies of the photo page "
                    "and the entry stamp page.",
                    "护照原件（含入境验讫章），以及资料页和入境章页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Proof of the reason for staying", "停留事由证明材料"),
                (
                    "E.g. a letter from your Chinese partner organisation, a hospital "
                    "certificate, or confirmation that your onward flight was cancelled.",
                    "如中方合作单位出具的函件、医院证明或后续航班取消的确认材料。",
                ),
                condition=(
                    "Visa-exempt entrants staying beyond the visa-free period",
                    "免签入境需超期停留的",
                ),
                copies=1,
            ),
            _material(
                ("Guarantee letter from the shipping agent", "船舶代理担保函"),
                (
                    "Letter from the shipping agent guaranteeing the crew member's return to the "
                    "ship, with the seafarer's identity document and the crew list.",
                    "船舶代理公司出具的担保其返回船舶的函件，附海员证及船员名单。",
                ),
                condition=(
                    "Foreign crew members and accompanying family leaving the port city",
                    "外国船员及其随行家属需离开港口所在城市的",
                ),
                copies=1,
            ),
            _material(
                ("Birth certificate and parents' documents", "出生医学证明及父母证件"),
                (
                    "The child's Medical Certificate of Birth, the parents' passports and "
                    "residence permits, and the child's passport issued by the embassy or "
                    "consulate.",
                    "婴儿的《出生医学证明》、父母的护照和居留证件，以及使领馆为婴儿签发的护照。",
                ),
                condition=("Foreign child born in China", "在中国境内出生的外国籍婴儿"),
                copies=1,
            ),
        ],
        "steps": [
            (
                "Book an appointment before the visa-free period, or the stay granted at the "
                "port of entry, ends.",
                "在免签停留期限（或入境口岸准许的停留期限）届满前预约。",
            ),
            (
                "Come in person with the originals; the officer verifies your entry record and "
                "takes your fingerprints.",
                "本人携带原件到场，工作人员核查入境记录并采集指纹。",
            ),
            _RECEIPT_STEP,
            (
                "Collect your passport with the stay permit affixed after 7 working days.",
                "7个工作日后领取签注停留证件的护照。",
            ),
        ],
        "fees": [
            _fee(("Stay permit issuance", "停留证件签发"), "160.00"),
        ],
        "legal_basis": [
            _article(_LAW, 22, "二十二", "visa-free entry", "免办签证的情形"),
            _article(_LAW, 34, "三十四", "stay permits", "外国人停留证件"),
        ],
    },
    {
        "service": "STAY_PERMIT_EXTENSION",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You hold a valid stay permit and the reason for your stay still exists.",
                "持有有效停留证件，且停留事由仍然存在。",
            ),
            (
                "Apply at least 7 days before the stay permit expires.",
                "应当在停留证件有效期届满七日前申请。",
            ),
            (
                "Including extensions, a stay permit cannot cover more than 180 days.",
                "停留证件含延期在内的有效期合计不超过180日。",
            ),
            (
                "If you need to stay for work, study or family reunion, apply for a residence "
                "permit instead.",
                "因工作、学习或家庭团聚需要在华居留的，应当申请居留许可。",
            ),
        ],
        "materials": [
            _material(
                ("Passport with the current stay permit", "护照及现持停留证件"),
                (
                    "Original passport bearing the current stay permit, plus photocopies of the "
                    "photo page and the stay permit page.",
                    "载有现持停留证件的护照原件，以及资料页和停留证件页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Proof that the reason continues", "停留事由持续存在的证明"),
                (
                    "Updated documents, e.g. a new hospital certificate, a letter from your "
                    "partner organisation, or the ship's revised departure schedule.",
                    "更新后的证明材料，如新的医院证明、合作单位函件或船舶调整后的离港计划。",
                ),
                copies=1,
            ),
            _material(
                ("Letter of guarantee", "担保函"),
                (
                    "Letter from the Chinese inviting entity or the shipping agent taking "
                    "responsibility for you during the extended stay.",
                    "中方邀请单位或船舶代理出具的担保函，承诺对申请人延期停留期间负责。",
                ),
                required=False,
                condition=(
                    "May be requested when the extension is longer than 30 days",
                    "申请延期超过30日的，根据需要提交",
                ),
                copies=1,
            ),
        ],
        "steps": [
            (
                "Book an appointment at least 7 days before the stay permit expires.",
                "在停留证件有效期届满七日前预约。",
            ),
            (
                "Come in person with the passport and the updated supporting documents; the "
                "officer reviews them and takes your fingerprints.",
                "本人携带护照及更新后的证明材料到场，工作人员审核材料并采集指纹。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the passport with the extended stay permit after 7 working days.",
                "7个工作日后领取加注延期的护照。",
            ),
        ],
        "fees": [
            _fee(("Stay permit extension", "停留证件延期"), "160.00"),
            _visa_reciprocal_fee(
                ("Stay permit extension, reciprocal fee", "停留证件延期（对等收费）")
            ),
        ],
        "legal_basis": [
            _article(_LAW, 34, "三十四", "stay permits", "外国人停留证件"),
            _article(
                _LAW,
                36,
                "三十六",
                "refusal decisions are final",
                "不予办理决定为最终决定",
            ),
        ],
    },
    {
        "service": "STAY_PERMIT_RENEWAL",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You hold a valid stay permit that must be replaced because you have a new "
                "passport or because a recorded item (such as your name or passport number) has "
                "changed.",
                "持有有效停留证件，因换领新护照或证件登记项目（如姓名、护照号码）"
                "发生变更需要换发。",
            ),
            (
                "Apply as soon as you receive the new passport, and in any case before the stay "
                "permit expires.",
                "领取新护照后应当尽快申请，且须在停留证件有效期届满前申请。",
            ),
            (
                "The renewed permit keeps the original expiry date; renewal does not lengthen "
                "your stay.",
                "换发的停留证件沿用原有效期，换发不延长停留期限。",
            ),
        ],
        "materials": [
            _material(
                ("Old and new passports", "新、旧护照"),
                (
                    "Originals of the new passport and of the old passport bearing the stay "
                    "permit, plus photocopies of both photo pages.",
                    "新护照及载有停留证件的旧护照原件，以及两本护照资料页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Proof of the change", "变更证明"),
                (
                    "Certificate from your embassy or consulate of the change of name or of "
                    "other personal details.",
                    "本国驻华使领馆出具的姓名或其他个人信息变更证明。",
                ),
                condition=("Name or personal details changed", "姓名等个人信息变更的"),
                copies=1,
            ),
        ],
        "steps": [
            (
                "Book an appointment as soon as you have the new passport.",
                "领取新护照后尽快预约。",
            ),
            (
                "Come in person with both passports; the officer transfers the stay permit to "
                "the new passport.",
                "本人携带新、旧护照到场，工作人员将停留证件转至新护照签注。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the new passport with the renewed stay permit after 7 working days; "
                "the old permit is cancelled.",
                "7个工作日后领取载有换发停留证件的新护照，原证件同时作废。",
            ),
        ],
        "fees": [
            _fee(("Stay permit renewal", "停留证件换发"), "160.00"),
        ],
        "legal_basis": [
            _article(_LAW, 34, "三十四", "stay permits", "外国人停留证件"),
            _article(
                _LAW,
                35,
                "三十五",
                "renewal and reissuance of visas and stay or residence permits",
                "签证及停留居留证件的换发、补发",
            ),
        ],
    },
    {
        "service": "STAY_PERMIT_REISSUANCE",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "Your stay permit, or the passport bearing it, has been lost, stolen or damaged.",
                "所持停留证件或载有停留证件的护照遗失、被盗抢或损毁。",
            ),
            (
                "Report a loss or theft to the police first; a lost passport must be replaced "
                "by your embassy or consulate before you apply.",
                "遗失或被盗抢的，须先向公安机关报失；护照遗失的，"
                "须先向本国驻华使领馆申领新护照后再申请。",
            ),
            (
                "The reissued permit keeps the original purpose and expiry date.",
                "补发的停留证件沿用原停留事由和有效期。",
            ),
        ],
        "materials": [
            _material(
                ("Passport or new travel document", "护照或新旅行证件"),
                (
                    "Original passport, or the new passport issued after the loss, plus a "
                    "photocopy of its photo page.",
                    "护照原件或遗失后换领的新护照原件，以及资料页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Loss report certificate", "报失证明"),
                (
                    "Certificate of the loss or theft report issued by the police station.",
                    "派出所出具的遗失或被盗抢报案证明。",
                ),
                condition=("Permit lost or stolen", "停留证件遗失或被盗抢的"),
                copies=1,
            ),
            _material(
                ("The damaged permit", "损毁的停留证件"),
                (
                    "Hand in the damaged stay permit so that it can be cancelled.",
                    "交回损毁的停留证件，以便注销。",
                ),
                condition=("Permit damaged", "停留证件损毁的"),
            ),
        ],
        "steps": [
            (
                "Report the loss at the local police station and keep the report certificate.",
                "到当地派出所报失并保存报失证明。",
            ),
            (
                "Book an appointment and come in person; the officer checks the lost permit "
                "against the national records before accepting the application.",
                "预约后本人到场办理，工作人员核对全国出入境信息系统中的原证件记录后受理。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the passport with the reissued stay permit after 7 working days.",
                "7个工作日后领取载有补发停留证件的护照。",
            ),
        ],
        "fees": [
            _fee(("Stay permit reissuance", "停留证件补发"), "160.00"),
        ],
        "legal_basis": [
            _article(
                _LAW,
                35,
                "三十五",
                "renewal and reissuance of visas and stay or residence permits",
                "签证及停留居留证件的换发、补发",
            ),
            _article(
                _LAW,
                38,
                "三十八",
                "carrying and presenting identity documents",
                "随身携带证件并接受查验",
            ),
        ],
    },
    {
        "service": "RESIDENCE_PERMIT_ISSUANCE",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You entered on a visa marked as requiring a residence permit after entry (e.g. "
                "Z, X1, Q1, S1, J1 or D) and apply within 30 days of entry.",
                "持注明入境后需要办理居留证件的签证（如Z、X1、Q1、S1、J1、D字签证）入境，"
                "并自入境之日起30日内申请。",
            ),
            (
                "Your purpose of residence is work, study, journalism, family reunion or private "
                "affairs.",
                "居留事由为工作、学习、记者常驻、家庭团聚或私人事务。",
            ),
            (
                "A work residence permit is valid for 90 days to 5 years; other residence "
                "permits for 180 days to 5 years.",
                "工作类居留证件有效期为90日至5年；非工作类居留证件有效期为180日至5年。",
            ),
            (
                "Apply in person and leave your fingerprints and other biometric data; a health "
                "certificate may be required for work and long-term study.",
                "申请人应当本人到场并留存指纹等人体生物识别信息；"
                "工作类及长期学习类申请人可能须提交健康检查证明。",
            ),
            (
                "The decision is made within 15 days of accepting complete materials; your "
                "passport is held meanwhile and the acceptance receipt proves lawful stay.",
                "出入境管理机构自受理完整材料之日起15日内作出决定；"
                "期间护照被收存，受理回执可证明合法停留。",
            ),
        ],
        "materials": [
            _material(
                ("Passport", "护照"),
                (
                    "Original passport with the entry visa and entry stamp, plus photocopies of "
                    "the photo page, the visa page and the entry stamp page.",
                    "护照原件（含入境签证及入境验讫章），以及资料页、签证页和入境章页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Work permit and employment letter", "工作许可证及聘用函件"),
                (
                    "The Foreigner's Work Permit issued by the foreign experts authority, and "
                    "the employer's letter stating your position and term of employment.",
                    "外国专家主管部门核发的《外国人工作许可证》，"
                    "以及工作单位出具的写明职位及聘用期限的函件。",
                ),
                condition=("Work (Z visa)", "工作类（持Z字签证）"),
                copies=1,
                applies_to=("Z", "WORK"),
            ),
            _material(
                ("Admission notice and certificate of study", "录取通知书及在读证明"),
                (
                    "The school's admission notice and a letter stating the study period; degree "
                    "students also submit the JW201 or JW202 form.",
                    "学校出具的录取通知书及写明学习期限的在读证明；学历生还须提交JW201或JW202表。",
                ),
                condition=("Study (X1 visa)", "学习类（持X1字签证）"),
                copies=1,
                applies_to=("X1", "STUDY"),
            ),
            _material(
                ("Family relationship documents", "家庭关系材料"),
                (
                    "Invitation from the family member in China (a Chinese citizen, a permanent "
                    "resident, or a foreigner with a work residence permit), a copy of his or her "
                    "ID or residence permit, and a marriage or birth certificate proving the "
                    "relationship (legalised if issued abroad).",
                    "在华家庭成员（中国公民、永久居留外国人或持工作类居留证件的外国人）"
                    "出具的邀请函件及其身份证件或居留证件复印件，"
                    "以及证明亲属关系的结婚证或出生证明（境外出具的须经认证）。",
                ),
                condition=("Family reunion (Q1 or S1 visa)", "团聚类（持Q1、S1字签证）"),
                copies=1,
                applies_to=("Q1", "S1", "FAMILY_REUNION"),
            ),
            _material(
                ("Journalist card and authority's letter", "记者证及主管部门函件"),
                (
                    "Letter from the competent authority and the resident journalist card it "
                    "issued.",
                    "有关主管部门出具的函件及核发的常驻记者证。",
                ),
                condition=("Journalist (J1 visa)", "记者类（持J1字签证）"),
                copies=1,
                applies_to=("J1", "JOURNALIST"),
            ),
            _material(
                ("Health certificate", "健康检查证明"),
                (
                    "Health certificate, or verification of a foreign one, issued within the "
                    "last 6 months by an international travel health care centre.",
                    "6个月内由国际旅行卫生保健中心出具的健康检查证明或境外体检验证证明。",
                ),
                required=False,
                condition=(
                    "Usually required for work and for study longer than 6 months",
                    "工作类及学习期限超过6个月的一般须提交",
                ),
                copies=1,
                applies_to=("Z", "WORK", "X1", "STUDY"),
            ),
        ],
        "steps": [
            (
                "Register your accommodation with the local police station within 24 hours of "
                "arriving.",
                "入境后24小时内到住地派出所办理住宿登记。",
            ),
            (
                "Obtain the documents for your purpose (e.g. the work permit) and, where "
                "needed, the health certificate, then book an appointment within 30 days of "
                "entry.",
                "取得居留事由证明材料（如工作许可证），根据需要完成健康检查，并在入境30日内预约。",
            ),
            (
                "Come in person; the officer reviews the materials, takes your fingerprints and "
                "photo, and tells you the validity to be granted.",
                "本人到场，工作人员审核材料、采集指纹和照片，并告知拟核准的有效期。",
            ),
            (
                "Pay the fee for the validity granted and keep the acceptance receipt, which "
                "proves lawful stay while your passport is held.",
                "按核准的有效期缴纳费用并保存受理回执；护照收存期间，受理回执可证明合法停留。",
            ),
            (
                "Collect the passport with the residence permit on the date shown on the "
                "receipt (within 15 working days).",
                "按受理回执注明的日期（15个工作日内）领取载有居留许可的护照。",
            ),
        ],
        "fees": _residence_fees(
            ("Residence permit issuance", "居留许可签发"),
            ("The validity granted", "核准有效期"),
        ),
        "legal_basis": [
            _article(_LAW, 30, "三十", "application for a residence permit", "居留证件的申请"),
            _article(_LAW, 31, "三十一", "grounds for refusal", "不予签发居留证件的情形"),
            _article(_REGULATIONS, 15, "十五", "types of residence permit", "居留证件的种类"),
            _article(
                _REGULATIONS,
                16,
                "十六",
                "materials for a residence permit",
                "申请居留证件应当提交的材料",
            ),
        ],
    },
    {
        "service": "RESIDENCE_PERMIT_EXTENSION",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You hold a valid residence permit and your purpose of residence continues "
                "(same employer, school or family relationship).",
                "持有有效居留许可，且居留事由持续存在（同一工作单位、学校或家庭关系）。",
            ),
            (
                "Apply at least 30 days before the residence permit expires.",
                "应当在居留许可有效期届满30日前申请。",
            ),
            (
                "Your registered details (address, employer, passport) must be up to date: "
                "changes must be reported within 10 days.",
                "登记事项（住址、工作单位、护照）须为最新：发生变更的，应当在10日内申报。",
            ),
            (
                "An extension may be refused if you have broken exit-entry rules or no longer "
                "meet the conditions for your purpose of residence.",
                "有违反出入境管理规定行为或不再符合居留事由条件的，可能不予延长居留期限。",
            ),
        ],
        "materials": [
            _material(
                ("Passport with the current residence permit", "护照及现持居留许可"),
                (
                    "Original passport, valid beyond the extension requested, plus photocopies "
                    "of the photo page and the residence permit page.",
                    "有效期长于申请延长期限的护照原件，以及资料页和居留许可页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Extended work permit and employer's letter", "延期后的工作许可证及单位函件"),
                (
                    "The Foreigner's Work Permit with its validity already extended, and the "
                    "employer's letter confirming continued employment.",
                    "已办理延期的《外国人工作许可证》，以及工作单位出具的继续聘用函件。",
                ),
                condition=("Work", "工作类"),
                copies=1,
                applies_to=("WORK",),
            ),
            _material(
                ("Certificate of continued study", "在读证明"),
                (
                    "Letter from the school confirming your enrolment and the remaining study "
                    "period, with your attendance record for the last term.",
                    "学校出具的在读证明，写明剩余学习期限，并附上一学期考勤记录。",
                ),
                condition=("Study", "学习类"),
                copies=1,
                applies_to=("STUDY",),
            ),
            _material(
                ("Current family documents", "家庭关系现状材料"),
                (
                    "The family member's valid ID card or residence permit, and a signed "
                    "statement that the relationship continues.",
                    "在华家庭成员的有效身份证件或居留证件，以及关系存续的书面声明。",
                ),
                condition=("Family reunion", "团聚类"),
                copies=1,
                applies_to=("FAMILY_REUNION",),
            ),
        ],
        "steps": [
            (
                "Check the expiry date and book an appointment at least 30 days before it; "
                "your employer's liaison may help prepare the materials.",
                "核对居留许可到期日，并在到期30日前预约；工作单位的联络人员可协助准备材料。",
            ),
            (
                "Come in person with the originals; the officer reviews the materials and "
                "takes your fingerprints.",
                "本人携带原件到场，工作人员审核材料并采集指纹。",
            ),
            (
                "Pay the fee for the validity granted and keep the acceptance receipt, which "
                "proves lawful stay while your passport is held.",
                "按核准的有效期缴纳费用并保存受理回执；护照收存期间，受理回执可证明合法停留。",
            ),
            (
                "Collect the passport with the extended residence permit within 15 working days.",
                "15个工作日内领取载有延期居留许可的护照。",
            ),
        ],
        "fees": _residence_fees(
            ("Residence permit extension", "居留许可延期"),
            ("The extended validity", "延长后的有效期"),
        ),
        "legal_basis": [
            _article(
                _LAW,
                32,
                "三十二",
                "extension of the period of residence",
                "延长居留期限",
            ),
            _article(
                _LAW,
                33,
                "三十三",
                "registered items of the residence permit",
                "居留证件登记事项",
            ),
            _article(
                _REGULATIONS,
                16,
                "十六",
                "materials for a residence permit",
                "申请居留证件应当提交的材料",
            ),
        ],
    },
    {
        "service": "RESIDENCE_PERMIT_RENEWAL",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "You hold a valid residence permit that must be replaced because your passport "
                "has been renewed or a registered item (name, employer, purpose within the same "
                "category) has changed.",
                "持有有效居留许可，因换领新护照或登记事项（姓名、工作单位、同类别内的居留事由）"
                "发生变更需要换发。",
            ),
            (
                "Apply within 10 days of the change, e.g. of receiving your new passport.",
                "应当自变更之日（如领取新护照之日）起10日内申请。",
            ),
            (
                "When only registered items change, the new permit keeps the original expiry "
                "date; a new validity requires meeting the extension conditions.",
                "仅登记事项变更的，新证件沿用原有效期；需要重新核定有效期的，须符合延期条件。",
            ),
            (
                "A change of employer requires the new employer's work permit first.",
                "变更工作单位的，须先取得新单位的外国人工作许可。",
            ),
        ],
        "materials": [
            _material(
                ("Old and new passports", "新、旧护照"),
                (
                    "Originals of the new passport and of the old passport bearing the residence "
                    "permit, plus photocopies of both photo pages.",
                    "新护照及载有居留许可的旧护照原件，以及两本护照资料页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Proof of the changed item", "变更事项证明"),
                (
                    "E.g. your embassy's certificate of a name change, or the new employer's "
                    "work permit and employment letter.",
                    "如本国驻华使领馆出具的姓名变更证明，或新单位的工作许可证及聘用函件。",
                ),
                condition=("Change of name or employer", "姓名或工作单位变更的"),
                copies=1,
            ),
        ],
        "steps": [
            (
                "Book an appointment within 10 days of the change.",
                "自变更之日起10日内预约。",
            ),
            (
                "Come in person with both passports and the proof of the change; the officer "
                "takes your fingerprints.",
                "本人携带新、旧护照及变更证明到场，工作人员采集指纹。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the new passport with the renewed residence permit within 15 working "
                "days; the old permit is cancelled.",
                "15个工作日内领取载有换发居留许可的新护照，原证件同时作废。",
            ),
        ],
        "fees": [
            _fee(
                (
                    "Residence permit renewal, change of registered items",
                    "居留许可换发（登记事项变更）",
                ),
                "200.00",
                (
                    "Only registered items change and the expiry date stays the same",
                    "仅变更登记事项、有效期不变的",
                ),
            ),
            *_residence_fees(
                ("Residence permit renewal", "居留许可换发"),
                ("The new validity", "重新核定的有效期"),
            ),
        ],
        "legal_basis": [
            _article(
                _LAW,
                33,
                "三十三",
                "registered items of the residence permit",
                "居留证件登记事项",
            ),
            _article(
                _LAW,
                35,
                "三十五",
                "renewal and reissuance of visas and stay or residence permits",
                "签证及停留居留证件的换发、补发",
            ),
        ],
    },
    {
        "service": "RESIDENCE_PERMIT_REISSUANCE",
        "version": 1,
        "effective_from": _FIRST_EDITION,
        "requirements": [
            (
                "Your residence permit, or the passport bearing it, has been lost, stolen or "
                "damaged while you are in China.",
                "在中国境内期间，所持居留许可或载有居留许可的护照遗失、被盗抢或损毁。",
            ),
            (
                "Report a loss or theft to the police first; a lost passport must be replaced "
                "by your embassy or consulate before you apply.",
                "遗失或被盗抢的，须先向公安机关报失；护照遗失的，"
                "须先向本国驻华使领馆申领新护照后再申请。",
            ),
            (
                "The reissued permit keeps the original purpose and expiry date, and your "
                "purpose of residence must still exist.",
                "补发的居留许可沿用原居留事由和有效期，且居留事由须仍然存在。",
            ),
        ],
        "materials": [
            _material(
                ("Passport or new travel document", "护照或新旅行证件"),
                (
                    "Original passport, or the new passport issued after the loss, plus a "
                    "photocopy of its photo page.",
                    "护照原件或遗失后换领的新护照原件，以及资料页复印件。",
                ),
                copies=1,
            ),
            _APPLICATION_FORM,
            _PHOTO,
            _ACCOMMODATION_REGISTRATION,
            _material(
                ("Loss report certificate", "报失证明"),
                (
                    "Certificate of the loss or theft report issued by the police station.",
                    "派出所出具的遗失或被盗抢报案证明。",
                ),
                condition=("Permit lost or stolen", "居留许可遗失或被盗抢的"),
                copies=1,
            ),
            _material(
                ("The damaged permit", "损毁的居留许可"),
                (
                    "Hand in the damaged residence permit so that it can be cancelled.",
                    "交回损毁的居留许可，以便注销。",
                ),
                condition=("Permit damaged", "居留许可损毁的"),
            ),
            _material(
                ("Letter confirming the purpose of residence", "居留事由确认函"),
                (
                    "Letter from your employer or school confirming that your employment or "
                    "study continues.",
                    "工作单位或学校出具的确认聘用或学习关系仍然存续的函件。",
                ),
                condition=("Work or study residence permits", "工作类或学习类居留许可"),
                copies=1,
                applies_to=("WORK", "STUDY"),
            ),
        ],
        "steps": [
            (
                "Report the loss to the police and, if the passport was lost too, obtain a new "
                "one from your embassy or consulate.",
                "向公安机关报失；护照一并遗失的，向本国驻华使领馆申领新护照。",
            ),
            (
                "Book an appointment and come in person with the loss report and the other "
                "materials; the officer takes your fingerprints.",
                "预约后本人携带报失证明及其他材料到场，工作人员采集指纹。",
            ),
            _RECEIPT_STEP,
            (
                "Collect the passport with the reissued residence permit within 15 working days.",
                "15个工作日内领取载有补发居留许可的护照。",
            ),
        ],
        "fees": _residence_fees(
            ("Residence permit reissuance", "居留许可补发"),
            ("The remaining validity", "剩余有效期"),
        ),
        "legal_basis": [
            _article(
                _LAW,
                35,
                "三十五",
                "renewal and reissuance of visas and stay or residence permits",
                "签证及停留居留证件的换发、补发",
            ),
            _article(
                _LAW,
                38,
                "三十八",
                "carrying and presenting identity documents",
                "随身携带证件并接受查验",
            ),
        ],
    },
]


def _second_edition_of_residence_permit_extension() -> dict:
    """Version 2 of residence permit extension: adds an online pre-check of the materials."""
    first = next(
        source
        for source in _GUIDANCE_SOURCES
        if source["service"] == "RESIDENCE_PERMIT_EXTENSION" and source["version"] == 1
    )
    steps = list(first["steps"])
    steps.insert(
        1,
        (
            "Upload scans of your materials for an online pre-check at least 5 working days "
            "before the appointment; an officer confirms they are complete or lists "
            "everything that is missing in a single reply.",
            "在预约办理日5个工作日前在线上传材料扫描件进行预审；"
            "工作人员确认材料齐全，或一次性告知需补正的材料。",
        ),
    )
    return {**first, "version": 2, "effective_from": "2026-07-01", "steps": steps}


_GUIDANCE_SOURCES.append(_second_edition_of_residence_permit_extension())

_PROCESSING_DAYS: dict[str, int] = {
    service["code"]: service["processing_working_days"] for service in SERVICES
}


def _localise(source: dict, lang: str, text: Callable[[_Text | None], str | None]) -> dict:
    """One guidance version in one language; `text` gives that language's words for a source
    (English, Chinese) pair (None for no text)."""
    return {
        "service": source["service"],
        "lang": lang,
        "version": source["version"],
        "effective_from": source["effective_from"],
        "requirements": [text(t) for t in source["requirements"]],
        "materials": [
            {
                "name": text(material["name"]),
                "description": text(material["description"]),
                "required": material["required"],
                "condition": text(material["condition"]),
                "copies": material["copies"],
                "applies_to": list(material["applies_to"]),
            }
            for material in source["materials"]
        ],
        "steps": [text(t) for t in source["steps"]],
        "fees": [
            {
                "item": text(fee["item"]),
                "amount": fee["amount"],
                "condition": text(fee["condition"]),
            }
            for fee in source["fees"]
        ],
        "processing_working_days": _PROCESSING_DAYS[source["service"]],
        "legal_basis": [text(t) for t in source["legal_basis"]],
    }


def _in_source_language(index: int) -> Callable[[_Text | None], str | None]:
    return lambda pair: None if pair is None else pair[index]


def _translated(source: dict, lang: str) -> dict | None:
    """A version in a further language, with the notice that it is unofficial; None when any
    of its texts lacks a translation: a half-translated version is never published, readers
    of that language get the English one, marked as a fallback."""
    table = {(t["en"], t["zh"]): t["text"] for t in _TRANSLATIONS[lang]["texts"]}
    missing: list[_Text] = []

    def text(pair: _Text | None) -> str | None:
        if pair is None:
            return None
        found = table.get(pair)
        if found is None:
            missing.append(pair)
        return found

    entry = _localise(source, lang, text)
    if missing:
        return None
    return {**entry, "official_notice": _TRANSLATIONS[lang]["official_notice"]}


GUIDANCE: list[dict] = [
    _localise(source, lang, _in_source_language(index))
    for source in _GUIDANCE_SOURCES
    for index, lang in enumerate(_LANGUAGES)
] + [
    entry
    for source in _GUIDANCE_SOURCES
    for lang in TRANSLATED_LANGUAGES
    if (entry := _translated(source, lang)) is not None
]
