"""A national network of service centres for volume runs: the 24 sample centres plus branches
in the cities where foreigners live, with how much of the foreign population each one serves.

`national_offices(count, seed)` returns `count` offices (500 by default in the generator) in
the shape of persistence/demo/offices.py's OFFICES, each with a `weight`: the share of the
country's foreign residents whose nearest centre it is. The sample centres come first
(codes and data unchanged), then numbered branches of the cities below, most of them where
most foreigners are (Shanghai, Beijing, the Pearl River Delta, Jiangsu and Zhejiang, the
border prefectures of Yunnan, Guangxi, Jilin and Heilongjiang).
"""

from __future__ import annotations

import random
from typing import Any

from persistence.demo.offices import OFFICES, RESIDENCE_SERVICES, VISA_SERVICES

# (city, city in Chinese, province, province code, code prefix, latitude, longitude, relative
# number of foreign residents). Rough orders of magnitude from the 2020 census's foreign
# residents by province, split over the cities where they live.
CITIES: tuple[tuple[str, str, str, str, str, float, float, float], ...] = (
    ("Shanghai", "上海", "Shanghai", "31", "SH", 31.230, 121.474, 20.0),
    ("Beijing", "北京", "Beijing", "11", "BJ", 39.904, 116.407, 12.0),
    ("Guangzhou", "广州", "Guangdong", "44", "GZ", 23.129, 113.264, 9.0),
    ("Shenzhen", "深圳", "Guangdong", "44", "SZ", 22.543, 114.058, 9.0),
    ("Dongguan", "东莞", "Guangdong", "44", "DG", 23.021, 113.752, 3.0),
    ("Foshan", "佛山", "Guangdong", "44", "FS", 23.022, 113.122, 2.0),
    ("Zhuhai", "珠海", "Guangdong", "44", "ZH", 22.271, 113.577, 1.5),
    ("Zhongshan", "中山", "Guangdong", "44", "ZS", 22.517, 113.393, 1.0),
    ("Huizhou", "惠州", "Guangdong", "44", "HUZ", 23.112, 114.416, 0.8),
    ("Shantou", "汕头", "Guangdong", "44", "ST", 23.354, 116.682, 0.5),
    ("Suzhou", "苏州", "Jiangsu", "32", "SUZ", 31.299, 120.585, 4.0),
    ("Nanjing", "南京", "Jiangsu", "32", "NJ", 32.060, 118.797, 2.5),
    ("Wuxi", "无锡", "Jiangsu", "32", "WX", 31.491, 120.312, 1.5),
    ("Changzhou", "常州", "Jiangsu", "32", "CZ", 31.811, 119.974, 1.0),
    ("Nantong", "南通", "Jiangsu", "32", "NT", 31.980, 120.894, 0.7),
    ("Yangzhou", "扬州", "Jiangsu", "32", "YZ", 32.394, 119.413, 0.4),
    ("Xuzhou", "徐州", "Jiangsu", "32", "XZ", 34.205, 117.284, 0.4),
    ("Hangzhou", "杭州", "Zhejiang", "33", "HZ", 30.274, 120.155, 3.0),
    ("Ningbo", "宁波", "Zhejiang", "33", "NB", 29.868, 121.544, 1.5),
    ("Jinhua", "金华", "Zhejiang", "33", "JH", 29.079, 119.647, 3.0),
    ("Wenzhou", "温州", "Zhejiang", "33", "WZ", 27.994, 120.699, 0.7),
    ("Shaoxing", "绍兴", "Zhejiang", "33", "SX", 30.000, 120.580, 0.6),
    ("Jiaxing", "嘉兴", "Zhejiang", "33", "JX", 30.746, 120.755, 0.5),
    ("Tianjin", "天津", "Tianjin", "12", "TJ", 39.343, 117.362, 2.0),
    ("Chongqing", "重庆", "Chongqing", "50", "CQ", 29.563, 106.551, 1.5),
    ("Chengdu", "成都", "Sichuan", "51", "CD", 30.573, 104.066, 2.5),
    ("Wuhan", "武汉", "Hubei", "42", "WH", 30.593, 114.305, 2.0),
    ("Xi'an", "西安", "Shaanxi", "61", "XA", 34.341, 108.940, 1.5),
    ("Qingdao", "青岛", "Shandong", "37", "QD", 36.067, 120.383, 2.5),
    ("Jinan", "济南", "Shandong", "37", "JN", 36.651, 117.120, 1.0),
    ("Yantai", "烟台", "Shandong", "37", "YT", 37.464, 121.448, 1.0),
    ("Weihai", "威海", "Shandong", "37", "WHI", 37.513, 122.120, 1.0),
    ("Weifang", "潍坊", "Shandong", "37", "WF", 36.707, 119.162, 0.4),
    ("Dalian", "大连", "Liaoning", "21", "DL", 38.914, 121.615, 2.0),
    ("Shenyang", "沈阳", "Liaoning", "21", "SY", 41.806, 123.432, 1.5),
    ("Dandong", "丹东", "Liaoning", "21", "DD", 40.000, 124.354, 0.5),
    ("Xiamen", "厦门", "Fujian", "35", "XM", 24.480, 118.089, 2.0),
    ("Fuzhou", "福州", "Fujian", "35", "FZ", 26.075, 119.306, 1.0),
    ("Quanzhou", "泉州", "Fujian", "35", "QZ", 24.874, 118.676, 0.8),
    ("Kunming", "昆明", "Yunnan", "53", "KM", 25.038, 102.718, 2.5),
    ("Mangshi", "芒市", "Yunnan", "53", "MS", 24.434, 98.585, 3.0),
    ("Jinghong", "景洪", "Yunnan", "53", "JG", 22.009, 100.797, 1.0),
    ("Hekou", "河口", "Yunnan", "53", "HK", 22.529, 103.939, 0.8),
    ("Nanning", "南宁", "Guangxi", "45", "NN", 22.817, 108.366, 2.0),
    ("Dongxing", "东兴", "Guangxi", "45", "DX", 21.548, 107.972, 1.2),
    ("Pingxiang", "凭祥", "Guangxi", "45", "PX", 22.094, 106.755, 1.0),
    ("Guilin", "桂林", "Guangxi", "45", "GL", 25.274, 110.290, 0.6),
    ("Yanji", "延吉", "Jilin", "22", "YJ", 42.891, 129.509, 2.0),
    ("Changchun", "长春", "Jilin", "22", "CC", 43.817, 125.324, 1.0),
    ("Harbin", "哈尔滨", "Heilongjiang", "23", "HB", 45.803, 126.535, 1.0),
    ("Suifenhe", "绥芬河", "Heilongjiang", "23", "SF", 44.412, 131.152, 0.4),
    ("Heihe", "黑河", "Heilongjiang", "23", "HH", 50.245, 127.529, 0.4),
    ("Hefei", "合肥", "Anhui", "34", "HF", 31.821, 117.227, 1.0),
    ("Zhengzhou", "郑州", "Henan", "41", "ZZ", 34.747, 113.625, 1.0),
    ("Luoyang", "洛阳", "Henan", "41", "LY", 34.619, 112.454, 0.3),
    ("Changsha", "长沙", "Hunan", "43", "CS", 28.228, 112.939, 1.0),
    ("Nanchang", "南昌", "Jiangxi", "36", "NC", 28.682, 115.858, 0.5),
    ("Haikou", "海口", "Hainan", "46", "HKO", 20.044, 110.198, 1.0),
    ("Sanya", "三亚", "Hainan", "46", "SYA", 18.253, 109.512, 1.0),
    ("Guiyang", "贵阳", "Guizhou", "52", "GY", 26.647, 106.630, 0.5),
    ("Shijiazhuang", "石家庄", "Hebei", "13", "SJZ", 38.042, 114.514, 0.5),
    ("Tangshan", "唐山", "Hebei", "13", "TS", 39.630, 118.180, 0.3),
    ("Taiyuan", "太原", "Shanxi", "14", "TY", 37.870, 112.549, 0.5),
    ("Hohhot", "呼和浩特", "Inner Mongolia", "15", "HHT", 40.842, 111.749, 0.5),
    ("Erenhot", "二连浩特", "Inner Mongolia", "15", "EL", 43.653, 111.977, 0.5),
    ("Manzhouli", "满洲里", "Inner Mongolia", "15", "MZL", 49.598, 117.379, 0.5),
    ("Urumqi", "乌鲁木齐", "Xinjiang", "65", "WLM", 43.825, 87.617, 1.0),
    ("Kashgar", "喀什", "Xinjiang", "65", "KS", 39.470, 75.990, 0.5),
    ("Lanzhou", "兰州", "Gansu", "62", "LZ", 36.061, 103.834, 0.3),
    ("Xining", "西宁", "Qinghai", "63", "XN", 36.617, 101.778, 0.2),
    ("Yinchuan", "银川", "Ningxia", "64", "YC", 38.487, 106.231, 0.2),
    ("Lhasa", "拉萨", "Tibet", "54", "LS", 29.652, 91.172, 0.2),
)
_STREETS = (
    ("Renmin", "人民"), ("Zhongshan", "中山"), ("Jiefang", "解放"), ("Xinhua", "新华"),
    ("Jianshe", "建设"), ("Heping", "和平"), ("Wenhua", "文化"), ("Shengli", "胜利"),
    ("Chaoyang", "朝阳"), ("Binhe", "滨河"), ("Century", "世纪"), ("Kaifa", "开发"),
)  # fmt: skip


def _hours(saturday: bool, extended: bool) -> list[tuple[int, str, str]]:
    morning = ("08:30", "12:00") if extended else ("09:00", "12:00")
    afternoon = ("13:30", "17:30") if extended else ("13:30", "17:00")
    rows = [(day, *interval) for day in range(1, 6) for interval in (morning, afternoon)]
    if saturday:
        rows.append((6, "09:00", "12:00"))
    return rows


def _branch_counts(count: int) -> dict[str, int]:
    """How many offices each city gets (the sample centres included): roughly in proportion
    to weight ** 0.6 (a big city has more branches, each serving more people), one at least."""
    demo = {}
    for office in OFFICES:
        demo[office["city"]] = demo.get(office["city"], 0) + 1
    scale = sum(w**0.6 for *_, w in CITIES)
    counts = {c[0]: max(1, demo.get(c[0], 0), round(count * c[7] ** 0.6 / scale)) for c in CITIES}
    # Trim or add on the biggest cities until the total is exact.
    by_weight = sorted(CITIES, key=lambda c: -c[7])
    i = 0
    while sum(counts.values()) != count:
        city = by_weight[i % len(by_weight)][0]
        if sum(counts.values()) > count:
            if counts[city] > max(1, demo.get(city, 0)):
                counts[city] -= 1
        else:
            counts[city] += 1
        i += 1
    return counts


def national_offices(count: int = 500, seed: int = 1) -> list[dict[str, Any]]:
    """`count` offices (at least the 24 sample ones and one per city of CITIES), each with its
    `weight`: the share of foreign residents it serves (the weights sum to 1)."""
    minimum = len(OFFICES) + sum(1 for c in CITIES if not any(o["city"] == c[0] for o in OFFICES))
    if count < minimum:
        raise ValueError(f"a national network has at least {minimum} offices")
    rng = random.Random(f"{seed}:offices")  # noqa: S311 (sample data)
    counts = _branch_counts(count)
    offices: list[dict[str, Any]] = []
    for data in OFFICES:
        offices.append({**data, "closures": list(data["closures"])})
    for city, city_zh, province, province_code, prefix, lat, lon, _ in CITIES:
        existing = sum(1 for o in OFFICES if o["city"] == city)
        for n in range(existing + 1, counts[city] + 1):
            big = rng.random() < 0.5
            street, street_zh = rng.choice(_STREETS)
            number = rng.randint(1, 300)
            residence = n == 1 or rng.random() < 0.6
            offices.append(
                {
                    "code": f"{prefix}-{n:03d}",
                    "name": {
                        "EN": f"{city} Exit-Entry Service Centre, Branch {n}",
                        "ZH": f"{city_zh}市公安局出入境接待大厅第{n}分厅",
                    },
                    "address": {
                        "EN": f"{number} {street} Road, {city}",
                        "ZH": f"{city_zh}市{street_zh}路{number}号",
                    },
                    "province": province,
                    "province_code": province_code,
                    "city": city,
                    "latitude": round(lat + rng.uniform(-0.12, 0.12), 4),
                    "longitude": round(lon + rng.uniform(-0.12, 0.12), 4),
                    "phone": f"+86 {rng.randint(20, 999)} {rng.randint(1000, 9999)} "
                    f"{rng.randint(1000, 9999)}",
                    "hours": _hours(saturday=big and rng.random() < 0.5, extended=big),
                    "services": [*VISA_SERVICES, *(RESIDENCE_SERVICES if residence else ())],
                    "counters": {
                        "VISA": rng.randint(2, 5) if big else rng.randint(1, 3),
                        "RESIDENCE": (rng.randint(2, 4) if big else rng.randint(1, 2))
                        if residence
                        else 0,
                    },
                    "closures": [],
                }
            )
    # Each city's residents are shared by its offices in proportion to their counters.
    weights = {c[0]: c[7] for c in CITIES}
    counters = {}
    for office in offices:
        counters[office["city"]] = counters.get(office["city"], 0) + sum(
            office["counters"].values()
        )
    total = sum(weights.values())
    for office in offices:
        share = sum(office["counters"].values()) / counters[office["city"]]
        office["weight"] = weights[office["city"]] / total * share
    return offices
