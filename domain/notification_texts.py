"""Every text of notifications and mail, per language (EN, ZH, KO, JA, RU, FR, ES, AR), in one
table keyed by language so that it can move into message catalogues as it is; a text missing in
a language falls back to English."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT = "EN"

# (title, body) of each notification kind in the inbox. Placeholders are facts of the
# notification; `{office}` and other facts kept per language read `office_zh` etc. first.
INBOX: dict[str, dict[str, tuple[str, str]]] = {
    "EN": {
        "APPOINTMENT_BOOKED": (
            "Appointment booked",
            "Appointment {reference} at {office} on {when} is booked.",
        ),
        "APPOINTMENT_CHANGED": (
            "Appointment changed",
            "Appointment {previous} was moved: it is now {reference} at {office} on {when}.",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "Appointment cancelled by the office",
            "The office cancelled appointment {reference} at {office} on {when}. "
            "Reason: {reason}. Please book another time.",
        ),
        "APPOINTMENT_REMINDER": (
            "Appointment tomorrow",
            "Reminder: appointment {reference} at {office} tomorrow, {when}. "
            "Bring your passport and the materials listed in the guidance.",
        ),
        "APPLICATION_STATUS_CHANGED": (
            "Application {status}",
            "Application {reference} is now: {status}.",
        ),
        "EXTENSION_WINDOW_OPEN": (
            "Apply for an extension by {deadline}",
            "Document {reference} is valid until {valid_until}. Apply for an extension by "
            "{deadline} ({days} days left) to keep your stay legal.",
        ),
        "DOCUMENT_EXPIRING": (
            "Document expires in {days} days",
            "Document {reference} expires on {valid_until}, in {days} days.",
        ),
        "DELEGATION_REQUESTED": (
            "Someone asks to help you",
            "{helper} asks to act for you ({scopes}). Accept or decline in your account.",
        ),
        "DELEGATION_ANSWERED": (
            "Your request to help was answered",
            "Your request to help {surname} was {answer}.",
        ),
        "WAITLIST_OFFER": (
            "A place is held for you",
            "A place at {office} on {when} is held for you until {expires}. Accept it before "
            "then, or it passes to the next in line.",
        ),
        "CERTIFICATE_ISSUED": (
            "Certificate issued",
            "A passport-information certificate was issued; it is valid until {expires}.",
        ),
    },
    "ZH": {
        "APPOINTMENT_BOOKED": ("预约成功", "您已预约{office}，时间{when}，预约号{reference}。"),
        "APPOINTMENT_CHANGED": (
            "预约已变更",
            "预约{previous}已改期：新预约号{reference}，地点{office}，时间{when}。",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "预约被接待大厅取消",
            "{office}取消了您{when}的预约（预约号{reference}）。原因：{reason}。请重新预约。",
        ),
        "APPOINTMENT_REMINDER": (
            "明天有预约",
            "提醒：您明天{when}在{office}有预约（预约号{reference}），请携带护照及办事指南所列材料。",
        ),
        "APPLICATION_STATUS_CHANGED": (
            "申请状态：{status}",
            "申请{reference}的状态已变为：{status}。",
        ),
        "EXTENSION_WINDOW_OPEN": (
            "请于{deadline}前申请延期",
            "证件{reference}有效期至{valid_until}。请于{deadline}前（还剩{days}天）申请延期，以保持合法停居留。",
        ),
        "DOCUMENT_EXPIRING": (
            "证件{days}天后到期",
            "证件{reference}将于{valid_until}到期，还剩{days}天。",
        ),
        "DELEGATION_REQUESTED": (
            "有人申请协助您办理",
            "{helper}申请代您办理（{scopes}）。请在账户中同意或拒绝。",
        ),
        "DELEGATION_ANSWERED": ("您的协办申请已有答复", "您协助{surname}办理的申请已{answer}。"),
        "WAITLIST_OFFER": (
            "为您保留了一个名额",
            "{office}{when}的名额为您保留至{expires}，请在此之前确认，否则将顺延给下一位。",
        ),
        "CERTIFICATE_ISSUED": ("证明已签发", "护照信息证明已签发，有效期至{expires}。"),
    },
    "KO": {
        "APPOINTMENT_BOOKED": ("예약 완료", "{office} {when} 예약({reference})이 완료되었습니다."),
        "APPOINTMENT_CHANGED": (
            "예약 변경",
            "예약 {previous}이(가) 변경되었습니다: {office} {when}, 예약번호 {reference}.",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "사무소가 예약을 취소했습니다",
            "{office}이(가) {when} 예약({reference})을 취소했습니다. "
            "사유: {reason}. 다시 예약해 주세요.",
        ),
        "APPOINTMENT_REMINDER": (
            "내일 예약",
            "알림: 내일 {when} {office} 예약({reference}). 여권과 안내된 서류를 지참하세요.",
        ),
        "APPLICATION_STATUS_CHANGED": ("신청 상태: {status}", "신청 {reference}의 상태: {status}."),
        "EXTENSION_WINDOW_OPEN": (
            "{deadline}까지 연장을 신청하세요",
            "서류 {reference}의 유효기간은 {valid_until}까지입니다. "
            "{deadline}까지({days}일 남음) 연장을 신청하세요.",
        ),
        "DOCUMENT_EXPIRING": (
            "{days}일 후 서류 만료",
            "서류 {reference}이(가) {valid_until}에 만료됩니다({days}일 남음).",
        ),
        "DELEGATION_REQUESTED": (
            "도움 요청",
            "{helper}님이 대리를 요청했습니다({scopes}). 계정에서 수락하거나 거절하세요.",
        ),
        "DELEGATION_ANSWERED": ("도움 요청에 대한 답변", "{surname}님 도움 요청이 {answer}."),
        "WAITLIST_OFFER": (
            "자리가 확보되었습니다",
            "{office} {when} 자리가 {expires}까지 확보되어 있습니다. 그 전에 수락하세요.",
        ),
        "CERTIFICATE_ISSUED": (
            "증명서 발급",
            "여권 정보 증명서가 발급되었습니다. 유효기간: {expires}.",
        ),
    },
    "JA": {
        "APPOINTMENT_BOOKED": ("予約完了", "{office}、{when}の予約（{reference}）が完了しました。"),
        "APPOINTMENT_CHANGED": (
            "予約変更",
            "予約{previous}は変更されました：{office}、{when}、予約番号{reference}。",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "窓口により予約が取り消されました",
            "{office}が{when}の予約（{reference}）を取り消しました。理由：{reason}。再度ご予約ください。",
        ),
        "APPOINTMENT_REMINDER": (
            "明日のご予約",
            "明日{when}、{office}でのご予約（{reference}）です。旅券と必要書類をお持ちください。",
        ),
        "APPLICATION_STATUS_CHANGED": ("申請状況：{status}", "申請{reference}の状況：{status}。"),
        "EXTENSION_WINDOW_OPEN": (
            "{deadline}までに延長を申請してください",
            "書類{reference}の有効期限は{valid_until}です。{deadline}まで（残り{days}日）に延長を申請してください。",
        ),
        "DOCUMENT_EXPIRING": (
            "書類の期限まで{days}日",
            "書類{reference}は{valid_until}に期限切れになります（残り{days}日）。",
        ),
        "DELEGATION_REQUESTED": (
            "代理の依頼",
            "{helper}さんが代理を依頼しています（{scopes}）。アカウントで承認または拒否してください。",
        ),
        "DELEGATION_ANSWERED": ("代理依頼への回答", "{surname}さんへの代理依頼は{answer}。"),
        "WAITLIST_OFFER": (
            "枠を確保しました",
            "{office}、{when}の枠を{expires}まで確保しています。それまでに承諾してください。",
        ),
        "CERTIFICATE_ISSUED": (
            "証明書発行",
            "旅券情報証明書が発行されました。有効期限：{expires}。",
        ),
    },
    "RU": {
        "APPOINTMENT_BOOKED": (
            "Запись подтверждена",
            "Запись {reference} в {office} на {when} подтверждена.",
        ),
        "APPOINTMENT_CHANGED": (
            "Запись изменена",
            "Запись {previous} перенесена: теперь {reference}, {office}, {when}.",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "Учреждение отменило запись",
            "{office} отменил запись {reference} на {when}. Причина: {reason}. "
            "Запишитесь на другое время.",
        ),
        "APPOINTMENT_REMINDER": (
            "Запись завтра",
            "Напоминание: запись {reference} в {office} завтра, {when}. "
            "Возьмите паспорт и документы.",
        ),
        "APPLICATION_STATUS_CHANGED": (
            "Заявление: {status}",
            "Статус заявления {reference}: {status}.",
        ),
        "EXTENSION_WINDOW_OPEN": (
            "Подайте на продление до {deadline}",
            "Документ {reference} действует до {valid_until}. Подайте на продление до {deadline} "
            "(осталось {days} дн.).",
        ),
        "DOCUMENT_EXPIRING": (
            "Документ истекает через {days} дн.",
            "Документ {reference} истекает {valid_until}, через {days} дн.",
        ),
        "DELEGATION_REQUESTED": (
            "Просьба о помощи",
            "{helper} просит действовать от вашего имени ({scopes}). Примите или отклоните.",
        ),
        "DELEGATION_ANSWERED": (
            "Ответ на вашу просьбу",
            "Ваша просьба помогать {surname}: {answer}.",
        ),
        "WAITLIST_OFFER": (
            "Для вас удерживается место",
            "Место в {office} на {when} удерживается для вас до {expires}.",
        ),
        "CERTIFICATE_ISSUED": (
            "Справка выдана",
            "Справка о паспортных данных выдана; действует до {expires}.",
        ),
    },
    "FR": {
        "APPOINTMENT_BOOKED": (
            "Rendez-vous réservé",
            "Le rendez-vous {reference} à {office} le {when} est réservé.",
        ),
        "APPOINTMENT_CHANGED": (
            "Rendez-vous modifié",
            "Le rendez-vous {previous} a été déplacé : désormais {reference} à {office} le {when}.",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "Rendez-vous annulé par le centre",
            "Le centre {office} a annulé le rendez-vous {reference} du {when}. Motif : {reason}. "
            "Veuillez réserver un autre créneau.",
        ),
        "APPOINTMENT_REMINDER": (
            "Rendez-vous demain",
            "Rappel : rendez-vous {reference} à {office} demain, {when}. Apportez votre passeport.",
        ),
        "APPLICATION_STATUS_CHANGED": (
            "Demande : {status}",
            "La demande {reference} est maintenant : {status}.",
        ),
        "EXTENSION_WINDOW_OPEN": (
            "Demandez une prolongation avant le {deadline}",
            "Le document {reference} est valable jusqu'au {valid_until}. Demandez une "
            "prolongation au plus tard le {deadline} ({days} jours restants).",
        ),
        "DOCUMENT_EXPIRING": (
            "Document expirant dans {days} jours",
            "Le document {reference} expire le {valid_until}, dans {days} jours.",
        ),
        "DELEGATION_REQUESTED": (
            "Demande d'aide",
            "{helper} demande à agir pour vous ({scopes}). Acceptez ou refusez dans votre compte.",
        ),
        "DELEGATION_ANSWERED": (
            "Réponse à votre demande d'aide",
            "Votre demande d'aider {surname} a été {answer}.",
        ),
        "WAITLIST_OFFER": (
            "Une place vous est réservée",
            "Une place à {office} le {when} vous est réservée jusqu'à {expires}.",
        ),
        "CERTIFICATE_ISSUED": (
            "Attestation délivrée",
            "Une attestation des données du passeport a été délivrée ; valable jusqu'au {expires}.",
        ),
    },
    "ES": {
        "APPOINTMENT_BOOKED": (
            "Cita reservada",
            "La cita {reference} en {office} el {when} está reservada.",
        ),
        "APPOINTMENT_CHANGED": (
            "Cita modificada",
            "La cita {previous} se cambió: ahora es {reference} en {office} el {when}.",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "La oficina canceló la cita",
            "{office} canceló la cita {reference} del {when}. Motivo: {reason}. Reserve otra hora.",
        ),
        "APPOINTMENT_REMINDER": (
            "Cita mañana",
            "Recordatorio: cita {reference} en {office} mañana, {when}. Traiga su pasaporte.",
        ),
        "APPLICATION_STATUS_CHANGED": (
            "Solicitud: {status}",
            "La solicitud {reference} está ahora: {status}.",
        ),
        "EXTENSION_WINDOW_OPEN": (
            "Solicite la prórroga antes del {deadline}",
            "El documento {reference} es válido hasta el {valid_until}. Solicite la prórroga a "
            "más tardar el {deadline} (quedan {days} días).",
        ),
        "DOCUMENT_EXPIRING": (
            "El documento vence en {days} días",
            "El documento {reference} vence el {valid_until}, en {days} días.",
        ),
        "DELEGATION_REQUESTED": (
            "Alguien pide ayudarle",
            "{helper} pide actuar en su nombre ({scopes}). Acepte o rechace en su cuenta.",
        ),
        "DELEGATION_ANSWERED": (
            "Respuesta a su solicitud de ayuda",
            "Su solicitud para ayudar a {surname} fue {answer}.",
        ),
        "WAITLIST_OFFER": (
            "Se le reserva una plaza",
            "Una plaza en {office} el {when} se le reserva hasta {expires}.",
        ),
        "CERTIFICATE_ISSUED": (
            "Certificado emitido",
            "Se emitió un certificado de datos del pasaporte; válido hasta {expires}.",
        ),
    },
    "AR": {
        "APPOINTMENT_BOOKED": (
            "تم حجز الموعد",
            "تم حجز الموعد {reference} في {office} بتاريخ {when}.",
        ),
        "APPOINTMENT_CHANGED": (
            "تم تغيير الموعد",
            "تم نقل الموعد {previous}: أصبح {reference} في {office} بتاريخ {when}.",
        ),
        "APPOINTMENT_CANCELLED_BY_OFFICE": (
            "ألغى المكتب الموعد",
            "ألغى {office} الموعد {reference} بتاريخ {when}. السبب: {reason}. يرجى حجز موعد آخر.",
        ),
        "APPOINTMENT_REMINDER": (
            "موعد غدًا",
            "تذكير: الموعد {reference} في {office} غدًا، {when}. أحضر جواز سفرك.",
        ),
        "APPLICATION_STATUS_CHANGED": ("الطلب: {status}", "حالة الطلب {reference}: {status}."),
        "EXTENSION_WINDOW_OPEN": (
            "قدّم طلب التمديد قبل {deadline}",
            "الوثيقة {reference} صالحة حتى {valid_until}. قدّم طلب التمديد قبل {deadline} "
            "(متبقٍ {days} يومًا).",
        ),
        "DOCUMENT_EXPIRING": (
            "تنتهي الوثيقة خلال {days} يومًا",
            "تنتهي الوثيقة {reference} في {valid_until}، بعد {days} يومًا.",
        ),
        "DELEGATION_REQUESTED": (
            "طلب مساعدة",
            "يطلب {helper} التصرف نيابةً عنك ({scopes}). اقبل أو ارفض من حسابك.",
        ),
        "DELEGATION_ANSWERED": ("تم الرد على طلبك", "طلبك لمساعدة {surname}: {answer}."),
        "WAITLIST_OFFER": (
            "تم حجز مكان لك",
            "مكان في {office} بتاريخ {when} محجوز لك حتى {expires}.",
        ),
        "CERTIFICATE_ISSUED": (
            "تم إصدار الشهادة",
            "صدرت شهادة بيانات جواز السفر؛ صالحة حتى {expires}.",
        ),
    },
}

# Appended to APPLICATION_STATUS_CHANGED when the office asks for materials (inbox only).
NOTE: dict[str, str] = {
    "EN": "The office asks: {note}",
    "ZH": "接待大厅要求：{note}",
    "KO": "사무소 요청: {note}",
    "JA": "窓口からの依頼：{note}",
    "RU": "Учреждение просит: {note}",
    "FR": "Le centre demande : {note}",
    "ES": "La oficina solicita: {note}",
    "AR": "يطلب المكتب: {note}",
}

# Values some facts take, per language (application statuses, delegation answers, scopes).
WORDS: dict[str, dict[str, str]] = {
    "EN": {
        "SUBMITTED": "submitted",
        "ACCEPTED": "accepted",
        "UNDER_REVIEW": "under review",
        "MATERIALS_REQUESTED": "materials requested",
        "APPROVED": "approved",
        "REJECTED": "rejected",
        "READY_FOR_COLLECTION": "ready for collection",
        "COLLECTED": "collected",
        "WITHDRAWN": "withdrawn",
        "ACTIVE": "accepted",
        "DECLINED": "declined",
        "CONFIRMED": "confirmed by an officer",
        "BOOK_APPOINTMENTS": "appointments",
        "VIEW_APPLICATIONS": "applications",
        "VIEW_DOCUMENTS": "documents",
    },
    "ZH": {
        "SUBMITTED": "已提交",
        "ACCEPTED": "已受理",
        "UNDER_REVIEW": "审核中",
        "MATERIALS_REQUESTED": "需补充材料",
        "APPROVED": "已批准",
        "REJECTED": "未批准",
        "READY_FOR_COLLECTION": "可领取",
        "COLLECTED": "已领取",
        "WITHDRAWN": "已撤回",
        "ACTIVE": "同意",
        "DECLINED": "拒绝",
        "CONFIRMED": "经民警确认",
        "BOOK_APPOINTMENTS": "预约",
        "VIEW_APPLICATIONS": "申请",
        "VIEW_DOCUMENTS": "证件",
    },
    "KO": {
        "SUBMITTED": "제출됨",
        "ACCEPTED": "접수됨",
        "UNDER_REVIEW": "심사 중",
        "MATERIALS_REQUESTED": "서류 보완 요청",
        "APPROVED": "승인됨",
        "REJECTED": "불승인",
        "READY_FOR_COLLECTION": "수령 가능",
        "COLLECTED": "수령 완료",
        "WITHDRAWN": "철회됨",
        "ACTIVE": "수락되었습니다",
        "DECLINED": "거절되었습니다",
        "CONFIRMED": "담당관이 확인했습니다",
        "BOOK_APPOINTMENTS": "예약",
        "VIEW_APPLICATIONS": "신청",
        "VIEW_DOCUMENTS": "서류",
    },
    "JA": {
        "SUBMITTED": "提出済み",
        "ACCEPTED": "受理済み",
        "UNDER_REVIEW": "審査中",
        "MATERIALS_REQUESTED": "書類の追加提出依頼",
        "APPROVED": "許可",
        "REJECTED": "不許可",
        "READY_FOR_COLLECTION": "受取可能",
        "COLLECTED": "受取済み",
        "WITHDRAWN": "取下げ",
        "ACTIVE": "承認されました",
        "DECLINED": "拒否されました",
        "CONFIRMED": "職員により確認されました",
        "BOOK_APPOINTMENTS": "予約",
        "VIEW_APPLICATIONS": "申請",
        "VIEW_DOCUMENTS": "書類",
    },
    "RU": {
        "SUBMITTED": "подано",
        "ACCEPTED": "принято",
        "UNDER_REVIEW": "на рассмотрении",
        "MATERIALS_REQUESTED": "запрошены документы",
        "APPROVED": "одобрено",
        "REJECTED": "отказано",
        "READY_FOR_COLLECTION": "готово к получению",
        "COLLECTED": "получено",
        "WITHDRAWN": "отозвано",
        "ACTIVE": "принята",
        "DECLINED": "отклонена",
        "CONFIRMED": "подтверждена сотрудником",
        "BOOK_APPOINTMENTS": "записи",
        "VIEW_APPLICATIONS": "заявления",
        "VIEW_DOCUMENTS": "документы",
    },
    "FR": {
        "SUBMITTED": "déposée",
        "ACCEPTED": "acceptée",
        "UNDER_REVIEW": "en cours d'examen",
        "MATERIALS_REQUESTED": "pièces demandées",
        "APPROVED": "approuvée",
        "REJECTED": "refusée",
        "READY_FOR_COLLECTION": "prête à être retirée",
        "COLLECTED": "retirée",
        "WITHDRAWN": "abandonnée",
        "ACTIVE": "acceptée",
        "DECLINED": "refusée",
        "CONFIRMED": "confirmée par un agent",
        "BOOK_APPOINTMENTS": "rendez-vous",
        "VIEW_APPLICATIONS": "demandes",
        "VIEW_DOCUMENTS": "documents",
    },
    "ES": {
        "SUBMITTED": "presentada",
        "ACCEPTED": "aceptada",
        "UNDER_REVIEW": "en revisión",
        "MATERIALS_REQUESTED": "documentación solicitada",
        "APPROVED": "aprobada",
        "REJECTED": "denegada",
        "READY_FOR_COLLECTION": "lista para recoger",
        "COLLECTED": "recogida",
        "WITHDRAWN": "retirada",
        "ACTIVE": "aceptada",
        "DECLINED": "rechazada",
        "CONFIRMED": "confirmada por un funcionario",
        "BOOK_APPOINTMENTS": "citas",
        "VIEW_APPLICATIONS": "solicitudes",
        "VIEW_DOCUMENTS": "documentos",
    },
    "AR": {
        "SUBMITTED": "مقدَّم",
        "ACCEPTED": "مقبول",
        "UNDER_REVIEW": "قيد المراجعة",
        "MATERIALS_REQUESTED": "مطلوب مستندات",
        "APPROVED": "موافق عليه",
        "REJECTED": "مرفوض",
        "READY_FOR_COLLECTION": "جاهز للاستلام",
        "COLLECTED": "تم الاستلام",
        "WITHDRAWN": "مسحوب",
        "ACTIVE": "مقبول",
        "DECLINED": "مرفوض",
        "CONFIRMED": "أكّده موظف",
        "BOOK_APPOINTMENTS": "المواعيد",
        "VIEW_APPLICATIONS": "الطلبات",
        "VIEW_DOCUMENTS": "الوثائق",
    },
}

# Mail about a notification carries only its kind, the reference and a link to sign in:
# anything else (officer notes, names, times) stays in the inbox.
MAIL: dict[str, tuple[str, str]] = {
    "EN": (
        "{label} ({reference})",
        "{label}.\nReference: {reference}\n\nSign in to read it: {link}\n",
    ),
    "ZH": ("{label}（{reference}）", "{label}。\n编号：{reference}\n\n请登录查看：{link}\n"),
    "KO": (
        "{label} ({reference})",
        "{label}.\n번호: {reference}\n\n로그인하여 확인하세요: {link}\n",
    ),
    "JA": (
        "{label}（{reference}）",
        "{label}。\n番号：{reference}\n\nログインしてご確認ください：{link}\n",
    ),
    "RU": (
        "{label} ({reference})",
        "{label}.\nНомер: {reference}\n\nВойдите, чтобы прочитать: {link}\n",
    ),
    "FR": (
        "{label} ({reference})",
        "{label}.\nRéférence : {reference}\n\nConnectez-vous : {link}\n",
    ),
    "ES": ("{label} ({reference})", "{label}.\nReferencia: {reference}\n\nInicie sesión: {link}\n"),
    "AR": ("{label} ({reference})", "{label}.\nالرقم: {reference}\n\nسجّل الدخول للاطلاع: {link}\n"),
}

# Kinds' labels without facts (mail subjects); the inbox title when it has no placeholder.
LABEL: dict[str, dict[str, str]] = {
    "EN": {
        "APPLICATION_STATUS_CHANGED": "Your application has news",
        "EXTENSION_WINDOW_OPEN": "Time to apply for an extension",
        "DOCUMENT_EXPIRING": "A document expires soon",
    },
    "ZH": {
        "APPLICATION_STATUS_CHANGED": "您的申请有新进展",
        "EXTENSION_WINDOW_OPEN": "请及时申请延期",
        "DOCUMENT_EXPIRING": "证件即将到期",
    },
    "KO": {
        "APPLICATION_STATUS_CHANGED": "신청에 새 소식이 있습니다",
        "EXTENSION_WINDOW_OPEN": "연장을 신청할 때입니다",
        "DOCUMENT_EXPIRING": "서류가 곧 만료됩니다",
    },
    "JA": {
        "APPLICATION_STATUS_CHANGED": "申請に新しい進展があります",
        "EXTENSION_WINDOW_OPEN": "延長の申請時期です",
        "DOCUMENT_EXPIRING": "書類の期限が近づいています",
    },
    "RU": {
        "APPLICATION_STATUS_CHANGED": "Новости по вашему заявлению",
        "EXTENSION_WINDOW_OPEN": "Пора подать на продление",
        "DOCUMENT_EXPIRING": "Срок действия документа скоро истекает",
    },
    "FR": {
        "APPLICATION_STATUS_CHANGED": "Du nouveau pour votre demande",
        "EXTENSION_WINDOW_OPEN": "Le moment de demander une prolongation",
        "DOCUMENT_EXPIRING": "Un document expire bientôt",
    },
    "ES": {
        "APPLICATION_STATUS_CHANGED": "Novedades de su solicitud",
        "EXTENSION_WINDOW_OPEN": "Es momento de solicitar la prórroga",
        "DOCUMENT_EXPIRING": "Un documento vence pronto",
    },
    "AR": {
        "APPLICATION_STATUS_CHANGED": "مستجدات بشأن طلبك",
        "EXTENSION_WINDOW_OPEN": "حان وقت طلب التمديد",
        "DOCUMENT_EXPIRING": "وثيقة تقترب من انتهاء صلاحيتها",
    },
}

SECURITY: dict[str, dict[str, tuple[str, str]]] = {
    "EN": {
        "EMAIL_VERIFICATION": (
            "Confirm your e-mail address",
            "Open this link within {minutes} minutes to confirm this address for your "
            "account:\n{link}\n\nIf you did not sign up, ignore this message.\n",
        ),
        "PASSWORD_RESET": (
            "Reset your password",
            "Open this link within {minutes} minutes to choose a new password:\n{link}\n\n"
            "If you did not ask for it, ignore this message: your password stays as it is.\n",
        ),
    },
    "ZH": {
        "EMAIL_VERIFICATION": (
            "请验证您的电子邮箱",
            "请在{minutes}分钟内打开以下链接验证此邮箱：\n{link}\n\n如非本人注册，请忽略本邮件。\n",
        ),
        "PASSWORD_RESET": (
            "重置密码",
            "请在{minutes}分钟内打开以下链接设置新密码：\n{link}\n\n如非本人操作，请忽略本邮件，密码不会改变。\n",
        ),
    },
    "KO": {
        "EMAIL_VERIFICATION": (
            "이메일 주소를 확인해 주세요",
            "{minutes}분 안에 아래 링크를 열어 이 주소를 확인하세요:\n{link}\n\n"
            "가입하지 않으셨다면 이 메일을 무시하세요.\n",
        ),
        "PASSWORD_RESET": (
            "비밀번호 재설정",
            "{minutes}분 안에 아래 링크를 열어 새 비밀번호를 정하세요:\n{link}\n\n"
            "요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.\n",
        ),
    },
    "JA": {
        "EMAIL_VERIFICATION": (
            "メールアドレスの確認",
            "{minutes}分以内に次のリンクを開き、このアドレスを確認してください：\n{link}\n\n"
            "お心当たりがない場合は、このメールを無視してください。\n",
        ),
        "PASSWORD_RESET": (
            "パスワードの再設定",
            "{minutes}分以内に次のリンクを開き、新しいパスワードを設定してください：\n{link}\n\n"
            "お心当たりがない場合は無視してください。パスワードは変わりません。\n",
        ),
    },
    "RU": {
        "EMAIL_VERIFICATION": (
            "Подтвердите адрес электронной почты",
            "Откройте ссылку в течение {minutes} минут, чтобы подтвердить этот адрес:\n{link}\n\n"
            "Если вы не регистрировались, не обращайте внимания на это письмо.\n",
        ),
        "PASSWORD_RESET": (
            "Сброс пароля",
            "Откройте ссылку в течение {minutes} минут, чтобы задать новый пароль:\n{link}\n\n"
            "Если вы этого не просили, не обращайте внимания: пароль не изменится.\n",
        ),
    },
    "FR": {
        "EMAIL_VERIFICATION": (
            "Confirmez votre adresse électronique",
            "Ouvrez ce lien dans les {minutes} minutes pour confirmer cette adresse :\n{link}\n\n"
            "Si vous ne vous êtes pas inscrit, ignorez ce message.\n",
        ),
        "PASSWORD_RESET": (
            "Réinitialisez votre mot de passe",
            "Ouvrez ce lien dans les {minutes} minutes pour choisir un nouveau mot de passe :\n"
            "{link}\n\nSi vous ne l'avez pas demandé, ignorez ce message : votre mot de passe "
            "ne change pas.\n",
        ),
    },
    "ES": {
        "EMAIL_VERIFICATION": (
            "Confirme su dirección de correo",
            "Abra este enlace en los próximos {minutes} minutos para confirmar esta dirección:\n"
            "{link}\n\nSi no se registró, ignore este mensaje.\n",
        ),
        "PASSWORD_RESET": (
            "Restablezca su contraseña",
            "Abra este enlace en los próximos {minutes} minutos para elegir una contraseña "
            "nueva:\n{link}\n\nSi no lo pidió, ignore este mensaje: su contraseña no cambia.\n",
        ),
    },
    "AR": {
        "EMAIL_VERIFICATION": (
            "أكّد عنوان بريدك الإلكتروني",
            "افتح هذا الرابط خلال {minutes} دقيقة لتأكيد هذا العنوان:\n{link}\n\n"
            "إذا لم تسجّل، فتجاهل هذه الرسالة.\n",
        ),
        "PASSWORD_RESET": (
            "إعادة تعيين كلمة المرور",
            "افتح هذا الرابط خلال {minutes} دقيقة لاختيار كلمة مرور جديدة:\n{link}\n\n"
            "إذا لم تطلب ذلك، فتجاهل هذه الرسالة: لن تتغير كلمة المرور.\n",
        ),
    },
}


class _Facts(dict):
    """Facts for str.format_map: a fact missing renders as nothing, not an error."""

    def __missing__(self, key: str) -> str:
        return ""


_SUFFIXES = frozenset(lang.lower() for lang in INBOX)


def _facts_in(lang: str, facts: Mapping[str, str]) -> _Facts:
    """The facts as `lang` reads them: a fact kept per language (`office_en`, `office_zh`)
    in `lang`, else in English; words (statuses, answers, scopes) translated."""
    words = {**WORDS[DEFAULT], **WORDS.get(lang, {})}
    out = _Facts()
    for key, value in facts.items():
        base, sep, suffix = key.rpartition("_")
        if not (sep and suffix in _SUFFIXES):
            out[key] = value
        elif base not in out or suffix == lang.lower():
            out[base] = facts.get(f"{base}_{lang.lower()}") or facts.get(f"{base}_en") or value
    for key in ("status", "answer"):
        if key in out:
            out[key] = words.get(out[key], out[key])
    if "scopes" in out:
        out["scopes"] = ", ".join(words.get(s, s) for s in out["scopes"].split(",") if s)
    return out


def _pick(table: Mapping[str, Mapping[str, object]], lang: str, key: str) -> object:
    return table.get(lang, {}).get(key) or table[DEFAULT][key]


def render(kind: str, lang: str, facts: Mapping[str, str]) -> tuple[str, str]:
    """The (title, body) of a notification in `lang`."""
    title, body = _pick(INBOX, lang, kind)  # type: ignore[misc]
    values = _facts_in(lang, facts)
    text = body.format_map(values)
    if kind == "APPLICATION_STATUS_CHANGED" and facts.get("status") == "MATERIALS_REQUESTED":
        if facts.get("note"):
            text += " " + (NOTE.get(lang) or NOTE[DEFAULT]).format_map(values)
    return title.format_map(values), text


def label(kind: str, lang: str) -> str:
    """A kind's name without facts: its own label, else its inbox title if it needs none."""
    own = LABEL.get(lang, {}).get(kind)
    if own:
        return own
    title = _pick(INBOX, lang, kind)[0]  # type: ignore[index]
    return title if "{" not in title else LABEL[DEFAULT][kind]


def notification_mail(kind: str, lang: str, reference: str, link: str) -> tuple[str, str]:
    """The (subject, body) of the mail about a notification: kind, reference, link only."""
    subject, body = MAIL.get(lang) or MAIL[DEFAULT]
    if not reference:
        # Nothing to refer to (a waitlist offer): the kind and the link alone.
        subject = "{label}"
        body = "\n".join(line for line in body.split("\n") if "{reference}" not in line)
    values = _Facts(label=label(kind, lang), reference=reference, link=link)
    return subject.format_map(values), body.format_map(values)


def security_mail(purpose: str, lang: str, link: str, minutes: int) -> tuple[str, str]:
    """The (subject, body) of a verification or password-reset mail."""
    subject, body = _pick(SECURITY, lang, purpose)  # type: ignore[misc]
    values = _Facts(link=link, minutes=str(minutes))
    return subject.format_map(values), body.format_map(values)
