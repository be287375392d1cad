"""Sample exit-entry service centres: realistic locations, sample phone numbers and hours."""

from domain.booking import SERVICE_GROUPS

VISA_SERVICES: tuple[str, ...] = tuple(s for s, g in SERVICE_GROUPS.items() if g == "VISA")
RESIDENCE_SERVICES: tuple[str, ...] = tuple(
    s for s, g in SERVICE_GROUPS.items() if g == "RESIDENCE"
)
_ALL_SERVICES: tuple[str, ...] = VISA_SERVICES + RESIDENCE_SERVICES

_SATURDAY_MORNING = ("09:00", "12:00")


def _hours(
    morning: tuple[str, str],
    afternoon: tuple[str, str],
    saturday: tuple[str, str] | None = None,
) -> list[tuple[int, str, str]]:
    """Monday to Friday with a lunch break between the two intervals, optionally Saturday."""
    rows = [(day, *interval) for day in range(1, 6) for interval in (morning, afternoon)]
    if saturday is not None:
        rows.append((6, *saturday))
    return rows


def _standard(saturday: bool = False) -> list[tuple[int, str, str]]:
    return _hours(("09:00", "12:00"), ("13:30", "17:00"), _SATURDAY_MORNING if saturday else None)


def _extended(saturday: bool = False) -> list[tuple[int, str, str]]:
    return _hours(("08:30", "12:00"), ("13:30", "17:30"), _SATURDAY_MORNING if saturday else None)


OFFICES: list[dict] = [
    {
        "code": "BJ-DC",
        "name": {
            "EN": "Beijing Exit-Entry Administration Service Centre (Main Hall)",
            "ZH": "北京市公安局出入境管理总队接待大厅",
        },
        "address": {
            "EN": "2 Andingmen East Street, Dongcheng District, Beijing 100007",
            "ZH": "北京市东城区安定门东大街2号",
        },
        "province": "Beijing",
        "province_code": "11",
        "city": "Beijing",
        "latitude": 39.9488,
        "longitude": 116.4170,
        "phone": "+86 10 8402 0101",
        "hours": _standard(saturday=True),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 6, "RESIDENCE": 5},
        "closures": [],
    },
    {
        "code": "BJ-CY",
        "name": {
            "EN": "Beijing Exit-Entry Service Centre, Chaoyang Branch",
            "ZH": "北京市公安局朝阳分局出入境接待大厅",
        },
        "address": {
            "EN": "16 Sanlitun Road, Chaoyang District, Beijing 100027",
            "ZH": "北京市朝阳区三里屯路16号",
        },
        "province": "Beijing",
        "province_code": "11",
        "city": "Beijing",
        "latitude": 39.9365,
        "longitude": 116.4550,
        "phone": "+86 10 8592 0102",
        "hours": _extended(saturday=True),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 5, "RESIDENCE": 4},
        "closures": [
            (
                "2026-12-09",
                {
                    "EN": "Closed for exit-entry system maintenance",
                    "ZH": "出入境业务系统维护，暂停办公",
                },
            ),
        ],
    },
    {
        "code": "BJ-HD",
        "name": {
            "EN": "Beijing Exit-Entry Service Centre, Haidian Branch",
            "ZH": "北京市公安局海淀分局出入境接待大厅",
        },
        "address": {
            "EN": "28 Zhongguancun Street, Haidian District, Beijing 100080",
            "ZH": "北京市海淀区中关村大街28号",
        },
        "province": "Beijing",
        "province_code": "11",
        "city": "Beijing",
        "latitude": 39.9800,
        "longitude": 116.3100,
        "phone": "+86 10 8261 0103",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 4},
        "closures": [],
    },
    {
        "code": "BJ-FT",
        "name": {
            "EN": "Beijing Exit-Entry Service Centre, Fengtai Branch",
            "ZH": "北京市公安局丰台分局出入境接待大厅",
        },
        "address": {
            "EN": "9 Fengtai North Road, Fengtai District, Beijing 100071",
            "ZH": "北京市丰台区丰台北路9号",
        },
        "province": "Beijing",
        "province_code": "11",
        "city": "Beijing",
        "latitude": 39.8580,
        "longitude": 116.2870,
        "phone": "+86 10 6381 0104",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 3, "RESIDENCE": 2},
        "closures": [],
    },
    {
        "code": "BJ-SY",
        "name": {
            "EN": "Beijing Exit-Entry Service Centre, Shunyi Branch",
            "ZH": "北京市公安局顺义分局出入境接待大厅",
        },
        "address": {
            "EN": "5 Fuqian Street, Shunyi District, Beijing 101300",
            "ZH": "北京市顺义区府前街5号",
        },
        "province": "Beijing",
        "province_code": "11",
        "city": "Beijing",
        "latitude": 40.1290,
        "longitude": 116.6540,
        "phone": "+86 10 6944 0105",
        "hours": _standard(),
        "services": list(VISA_SERVICES),
        "counters": {"VISA": 2, "RESIDENCE": 0},
        "closures": [],
    },
    {
        "code": "BJ-XC",
        "name": {
            "EN": "Beijing Exit-Entry Service Centre, Xicheng Branch",
            "ZH": "北京市公安局西城分局出入境接待大厅",
        },
        "address": {
            "EN": "37 Xinjiekou South Street, Xicheng District, Beijing 100035",
            "ZH": "北京市西城区新街口南大街37号",
        },
        "province": "Beijing",
        "province_code": "11",
        "city": "Beijing",
        "latitude": 39.9380,
        "longitude": 116.3700,
        "phone": "+86 10 6615 0106",
        "hours": _standard(),
        "services": list(VISA_SERVICES),
        "counters": {"VISA": 3, "RESIDENCE": 0},
        "closures": [],
    },
    {
        "code": "SH-PD",
        "name": {
            "EN": "Shanghai Exit-Entry Administration Service Centre (Main Hall)",
            "ZH": "上海市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "1500 Minsheng Road, Pudong New Area, Shanghai 200135",
            "ZH": "上海市浦东新区民生路1500号",
        },
        "province": "Shanghai",
        "province_code": "31",
        "city": "Shanghai",
        "latitude": 31.2230,
        "longitude": 121.5450,
        "phone": "+86 21 2895 0201",
        "hours": _standard(saturday=True),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 6, "RESIDENCE": 6},
        "closures": [],
    },
    {
        "code": "SH-CN",
        "name": {
            "EN": "Shanghai Exit-Entry Service Centre, Changning Branch",
            "ZH": "上海市公安局长宁分局出入境接待大厅",
        },
        "address": {
            "EN": "300 Xianxia Road, Changning District, Shanghai 200336",
            "ZH": "上海市长宁区仙霞路300号",
        },
        "province": "Shanghai",
        "province_code": "31",
        "city": "Shanghai",
        "latitude": 31.2080,
        "longitude": 121.3950,
        "phone": "+86 21 6213 0202",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "SH-MH",
        "name": {
            "EN": "Shanghai Exit-Entry Service Centre, Minhang Branch",
            "ZH": "上海市公安局闵行分局出入境接待大厅",
        },
        "address": {
            "EN": "6258 Humin Road, Minhang District, Shanghai 201100",
            "ZH": "上海市闵行区沪闵路6258号",
        },
        "province": "Shanghai",
        "province_code": "31",
        "city": "Shanghai",
        "latitude": 31.1100,
        "longitude": 121.3800,
        "phone": "+86 21 6411 0203",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 3, "RESIDENCE": 3},
        "closures": [
            (
                "2026-12-17",
                {
                    "EN": "Closed while the hall moves to the ground floor of the same building",
                    "ZH": "接待大厅搬迁至同楼一层，暂停办公",
                },
            ),
            (
                "2026-12-18",
                {
                    "EN": "Closed while the hall moves to the ground floor of the same building",
                    "ZH": "接待大厅搬迁至同楼一层，暂停办公",
                },
            ),
        ],
    },
    {
        "code": "SH-JA",
        "name": {
            "EN": "Shanghai Exit-Entry Service Centre, Jing'an Branch",
            "ZH": "上海市公安局静安分局出入境接待大厅",
        },
        "address": {
            "EN": "650 Xinzha Road, Jing'an District, Shanghai 200041",
            "ZH": "上海市静安区新闸路650号",
        },
        "province": "Shanghai",
        "province_code": "31",
        "city": "Shanghai",
        "latitude": 31.2380,
        "longitude": 121.4580,
        "phone": "+86 21 6256 0204",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "SH-XH",
        "name": {
            "EN": "Shanghai Exit-Entry Service Centre, Xuhui Branch",
            "ZH": "上海市公安局徐汇分局出入境接待大厅",
        },
        "address": {
            "EN": "200 Caoxi North Road, Xuhui District, Shanghai 200030",
            "ZH": "上海市徐汇区漕溪北路200号",
        },
        "province": "Shanghai",
        "province_code": "31",
        "city": "Shanghai",
        "latitude": 31.1900,
        "longitude": 121.4360,
        "phone": "+86 21 6438 0205",
        "hours": _standard(),
        "services": list(VISA_SERVICES),
        "counters": {"VISA": 3, "RESIDENCE": 0},
        "closures": [],
    },
    {
        "code": "GZ-YX",
        "name": {
            "EN": "Guangzhou Exit-Entry Administration Service Centre",
            "ZH": "广州市公安局出入境管理支队接待大厅",
        },
        "address": {
            "EN": "155 Jiefang South Road, Yuexiu District, Guangzhou 510120",
            "ZH": "广州市越秀区解放南路155号",
        },
        "province": "Guangdong",
        "province_code": "44",
        "city": "Guangzhou",
        "latitude": 23.1230,
        "longitude": 113.2660,
        "phone": "+86 20 8311 0301",
        "hours": _extended(saturday=True),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 6, "RESIDENCE": 5},
        "closures": [
            (
                "2027-01-13",
                {
                    "EN": "Closed for the annual upgrade of the exit-entry system",
                    "ZH": "出入境业务系统年度升级，暂停办公",
                },
            ),
        ],
    },
    {
        "code": "GZ-TH",
        "name": {
            "EN": "Guangzhou Exit-Entry Service Centre, Tianhe Branch",
            "ZH": "广州市公安局天河区分局出入境接待大厅",
        },
        "address": {
            "EN": "30 Tianhe North Road, Tianhe District, Guangzhou 510620",
            "ZH": "广州市天河区天河北路30号",
        },
        "province": "Guangdong",
        "province_code": "44",
        "city": "Guangzhou",
        "latitude": 23.1440,
        "longitude": 113.3300,
        "phone": "+86 20 8755 0302",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "SZ-FT",
        "name": {
            "EN": "Shenzhen Exit-Entry Administration Service Centre",
            "ZH": "深圳市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "4018 Shennan Middle Road, Futian District, Shenzhen 518033",
            "ZH": "深圳市福田区深南中路4018号",
        },
        "province": "Guangdong",
        "province_code": "44",
        "city": "Shenzhen",
        "latitude": 22.5430,
        "longitude": 114.0780,
        "phone": "+86 755 8446 0401",
        "hours": _extended(saturday=True),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 5, "RESIDENCE": 5},
        "closures": [],
    },
    {
        "code": "SZ-NS",
        "name": {
            "EN": "Shenzhen Exit-Entry Service Centre, Nanshan Branch",
            "ZH": "深圳市公安局南山分局出入境接待大厅",
        },
        "address": {
            "EN": "3012 Nanshan Avenue, Nanshan District, Shenzhen 518052",
            "ZH": "深圳市南山区南山大道3012号",
        },
        "province": "Guangdong",
        "province_code": "44",
        "city": "Shenzhen",
        "latitude": 22.5250,
        "longitude": 113.9230,
        "phone": "+86 755 2655 0402",
        "hours": _standard(),
        "services": [
            "VISA_EXTENSION",
            "VISA_RENEWAL",
            "STAY_PERMIT_EXTENSION",
            "STAY_PERMIT_RENEWAL",
            "RESIDENCE_PERMIT_EXTENSION",
            "RESIDENCE_PERMIT_RENEWAL",
        ],
        "counters": {"VISA": 3, "RESIDENCE": 2},
        "closures": [],
    },
    {
        "code": "CD-WH",
        "name": {
            "EN": "Chengdu Exit-Entry Administration Service Centre",
            "ZH": "成都市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "38 Kehua North Road, Wuhou District, Chengdu 610041",
            "ZH": "四川省成都市武侯区科华北路38号",
        },
        "province": "Sichuan",
        "province_code": "51",
        "city": "Chengdu",
        "latitude": 30.6330,
        "longitude": 104.0790,
        "phone": "+86 28 8640 0501",
        "hours": _hours(("09:00", "12:00"), ("13:00", "17:00"), _SATURDAY_MORNING),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 5, "RESIDENCE": 4},
        "closures": [
            (
                "2026-12-23",
                {
                    "EN": "Closed for staff training on the new residence permit card",
                    "ZH": "新版居留证件业务培训，暂停办公",
                },
            ),
            (
                "2027-01-20",
                {
                    "EN": "Closed for annual staff training",
                    "ZH": "年度业务培训，暂停办公",
                },
            ),
        ],
    },
    {
        "code": "CD-GX",
        "name": {
            "EN": "Chengdu Exit-Entry Service Centre, High-tech Zone Branch",
            "ZH": "成都市公安局高新区分局出入境接待大厅",
        },
        "address": {
            "EN": "1700 Tianfu Avenue North Section, High-tech Zone, Chengdu 610041",
            "ZH": "四川省成都市高新区天府大道北段1700号",
        },
        "province": "Sichuan",
        "province_code": "51",
        "city": "Chengdu",
        "latitude": 30.5800,
        "longitude": 104.0650,
        "phone": "+86 28 8517 0502",
        "hours": _hours(("09:00", "12:00"), ("13:00", "17:00")),
        "services": [
            "VISA_EXTENSION",
            "STAY_PERMIT_EXTENSION",
            *RESIDENCE_SERVICES,
        ],
        "counters": {"VISA": 2, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "HZ-SC",
        "name": {
            "EN": "Hangzhou Exit-Entry Administration Service Centre",
            "ZH": "杭州市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "35 Huaguang Road, Shangcheng District, Hangzhou 310002",
            "ZH": "浙江省杭州市上城区华光路35号",
        },
        "province": "Zhejiang",
        "province_code": "33",
        "city": "Hangzhou",
        "latitude": 30.2470,
        "longitude": 120.1780,
        "phone": "+86 571 8728 0601",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 4},
        "closures": [],
    },
    {
        "code": "HZ-BJ",
        "name": {
            "EN": "Hangzhou Exit-Entry Service Centre, Binjiang Branch",
            "ZH": "杭州市公安局滨江区分局出入境接待大厅",
        },
        "address": {
            "EN": "3850 Jiangnan Avenue, Binjiang District, Hangzhou 310051",
            "ZH": "浙江省杭州市滨江区江南大道3850号",
        },
        "province": "Zhejiang",
        "province_code": "33",
        "city": "Hangzhou",
        "latitude": 30.2080,
        "longitude": 120.2110,
        "phone": "+86 571 8669 0602",
        "hours": _standard(),
        "services": [
            "VISA_EXTENSION",
            "STAY_PERMIT_ISSUANCE",
            "STAY_PERMIT_EXTENSION",
            "RESIDENCE_PERMIT_ISSUANCE",
            "RESIDENCE_PERMIT_EXTENSION",
            "RESIDENCE_PERMIT_RENEWAL",
        ],
        "counters": {"VISA": 2, "RESIDENCE": 2},
        "closures": [],
    },
    {
        "code": "XA-YT",
        "name": {
            "EN": "Xi'an Exit-Entry Administration Service Centre",
            "ZH": "西安市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "138 Cuihua Road, Yanta District, Xi'an 710061",
            "ZH": "陕西省西安市雁塔区翠华路138号",
        },
        "province": "Shaanxi",
        "province_code": "61",
        "city": "Xi'an",
        "latitude": 34.2240,
        "longitude": 108.9560,
        "phone": "+86 29 8527 0701",
        "hours": _hours(("09:00", "12:00"), ("14:00", "17:30")),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 3, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "WH-JA",
        "name": {
            "EN": "Wuhan Exit-Entry Administration Service Centre",
            "ZH": "武汉市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "2101 Jiefang Avenue, Jiang'an District, Wuhan 430014",
            "ZH": "湖北省武汉市江岸区解放大道2101号",
        },
        "province": "Hubei",
        "province_code": "42",
        "city": "Wuhan",
        "latitude": 30.6150,
        "longitude": 114.2950,
        "phone": "+86 27 8539 0801",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "NJ-XW",
        "name": {
            "EN": "Nanjing Exit-Entry Administration Service Centre",
            "ZH": "南京市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "128 Changjiang Road, Xuanwu District, Nanjing 210018",
            "ZH": "江苏省南京市玄武区长江路128号",
        },
        "province": "Jiangsu",
        "province_code": "32",
        "city": "Nanjing",
        "latitude": 32.0460,
        "longitude": 118.7930,
        "phone": "+86 25 8442 0901",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "SUZ-IP",
        "name": {
            "EN": "Suzhou Exit-Entry Service Centre, Industrial Park Branch",
            "ZH": "苏州市公安局工业园区分局出入境接待大厅",
        },
        "address": {
            "EN": "88 Xinghu Street, Suzhou Industrial Park, Suzhou 215021",
            "ZH": "江苏省苏州工业园区星湖街88号",
        },
        "province": "Jiangsu",
        "province_code": "32",
        "city": "Suzhou",
        "latitude": 31.3020,
        "longitude": 120.7300,
        "phone": "+86 512 6286 0902",
        "hours": _extended(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 3, "RESIDENCE": 3},
        "closures": [],
    },
    {
        "code": "TJ-HP",
        "name": {
            "EN": "Tianjin Exit-Entry Administration Service Centre",
            "ZH": "天津市公安局出入境管理局接待大厅",
        },
        "address": {
            "EN": "19 Qufu Road, Heping District, Tianjin 300041",
            "ZH": "天津市和平区曲阜道19号",
        },
        "province": "Tianjin",
        "province_code": "12",
        "city": "Tianjin",
        "latitude": 39.1230,
        "longitude": 117.2050,
        "phone": "+86 22 2445 0121",
        "hours": _standard(),
        "services": list(_ALL_SERVICES),
        "counters": {"VISA": 4, "RESIDENCE": 3},
        "closures": [],
    },
]
