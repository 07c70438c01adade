"""Chinese and English labels for tables, maps and reports.

Column names in files stay stable English identifiers (scripts depend on
them); :func:`label` gives the human header in the chosen language, used for
XLSX headers, map legends and the report.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # key: (en, zh)
    "scope": ("Scope", "统计范围"),
    "method": ("Method", "方法"),
    "tier": ("Tier", "分级"),
    "unit_id": ("Unit id", "单元编号"),
    "unit_name": ("Unit", "单元"),
    "land_m2": ("Residential land (m²)", "居住用地面积（㎡）"),
    "covered_m2": ("Covered land (m²)", "覆盖居住用地面积（㎡）"),
    "land_pct": ("Land covered (%)", "居住用地覆盖率（%）"),
    "residents": ("Residents", "居民数"),
    "covered_residents": ("Residents covered", "覆盖居民数"),
    "residents_pct": ("Residents covered (%)", "居民覆盖率（%）"),
    "park_id": ("Park id", "公园编号"),
    "name": ("Name", "名称"),
    "osm_id": ("OSM id", "OSM编号"),
    "fragments": ("Fragments merged", "合并斑块数"),
    "area_m2": ("Area (m²)", "面积（㎡）"),
    "in_historic": ("In historic district", "位于历史文化街区"),
    "radius_m": ("Service radius (m)", "服务半径（米）"),
    "rank": ("Rank", "排序"),
    "step": ("Step", "步骤"),
    "new_residents": ("Residents newly served", "新增覆盖居民"),
    "new_land_m2": ("Land newly covered (m²)", "新增覆盖居住用地（㎡）"),
    "land_pct_after": ("Land covered after (%)", "新增后覆盖率（%）"),
    "residents_pct_after": ("Residents covered after (%)", "新增后居民覆盖率（%）"),
    "difference_pp": ("Straight line minus network (pp)", "直线法减路网法（百分点）"),
    "euclidean": ("straight line", "直线距离法"),
    "network": ("walking network", "步行路网法"),
    "all": ("whole area", "全域"),
    "outside_historic": ("outside historic districts", "历史文化街区以外"),
    "inside_historic": ("inside historic districts", "历史文化街区以内"),
    "park_coverage": ("Park service-radius coverage", "公园绿地服务半径覆盖率"),
    "blind_spots": ("Blind spots", "服务盲区"),
    "pocket_parks": ("Pocket-park sites", "口袋公园选址"),
    "parks": ("Parks", "公园"),
    "served": ("Served zone", "服务范围"),
    "covered": ("covered", "已覆盖"),
    "not_covered": ("not covered", "未覆盖"),
    "residential": ("Residential land", "居住用地"),
    "units": ("Units", "统计单元"),
    "target": ("Target", "目标"),
    "value": ("Value", "数值"),
    "met": ("met", "达标"),
    "not_met": ("not met", "未达标"),
    "access_points": ("Park access points", "公园出入口"),
    "kind": ("Kind", "类型"),
    "distance_m": ("Distance (m)", "距离（米）"),
    "median_distance_m": ("Median distance to a park (m)", "到公园的中位距离（米）"),
}


def label(key: str, lang: str = "en") -> str:
    """Human label of a key in ``lang`` (``"en"`` or ``"zh"``); the key itself if unknown."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "zh" else pair[0]


def register_labels(labels: dict[str, tuple[str, str]]) -> None:
    """Add labels (``{key: (en, zh)}``) for an analysis' own columns."""
    LABELS.update(labels)
