"""Chinese and English headers of the compound, fairness and what-if tables (added to :mod:`geoplan.i18n`)."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # analyses
    "compounds": ("Walled compounds and gates", "封闭小区与出入口"),
    "fairness": ("Fairness of access (evenness)", "服务均好度"),
    "whatif": ("What-if", "方案评估"),
    # compounds: side by side
    "land_pct_compounds": ("Land covered, compound model (%)", "居住用地覆盖率·封闭小区模型（%）"),
    "land_diff_pp": ("Compound model minus ordinary, land (pp)", "封闭小区模型减普通模型·用地（百分点）"),
    "residents_pct_compounds": ("Residents covered, compound model (%)", "居民覆盖率·封闭小区模型（%）"),
    "residents_diff_pp": ("Compound model minus ordinary, residents (pp)", "封闭小区模型减普通模型·居民（百分点）"),
    "covered_m2_compounds": ("Covered land, compound model (m²)", "覆盖居住用地·封闭小区模型（㎡）"),
    "covered_residents_compounds": ("Residents covered, compound model", "覆盖居民·封闭小区模型"),
    "land_pct_links": ("Land covered, gate links only (%)", "居住用地覆盖率·仅出入口连接（%）"),
    "residents_pct_links": ("Residents covered, gate links only (%)", "居民覆盖率·仅出入口连接（%）"),
    "residents_links_pp": ("Change from gate links (pp)", "出入口连接带来的变化（百分点）"),
    "residents_walls_pp": ("Change from walls (pp)", "围墙带来的变化（百分点）"),
    "complete_pct": ("Complete circle (%)", "生活圈完整（%）"),
    "complete_pct_compounds": ("Complete circle, compound model (%)", "生活圈完整·封闭小区模型（%）"),
    "complete_diff_pp": ("Compound model minus ordinary, complete (pp)", "封闭小区模型减普通模型·完整（百分点）"),
    "complete_pct_links": ("Complete circle, gate links only (%)", "生活圈完整·仅出入口连接（%）"),
    "score_pct": ("Categories reached (%)", "设施类别可达（%）"),
    "score_pct_compounds": ("Categories reached, compound model (%)", "设施类别可达·封闭小区模型（%）"),
    "score_diff_pp": ("Compound model minus ordinary, categories (pp)", "封闭小区模型减普通模型·类别（百分点）"),
    # compounds: per compound
    "compound_id": ("Compound id", "小区编号"),
    "n_gates": ("Gates", "出入口数"),
    "walled_share": ("Outline along walls (share)", "围墙占边界比例"),
    "cells": ("Cells", "网格数"),
    "residential_m2": ("Residential land (m²)", "居住用地（㎡）"),
    "cells_inner_paths": ("Cells on inner paths", "经内部道路的网格"),
    "cells_to_gate": ("Cells walking to a gate", "直达出入口的网格"),
    "snap_m": ("Walk to the network (m)", "至路网距离（米）"),
    "snap_m_compounds": ("Walk to the network, compound model (m)", "至路网距离·封闭小区模型（米）"),
    "park_m": ("Walk to the nearest park (m)", "至最近公园步行距离（米）"),
    "park_m_links": ("Walk to the nearest park, gate links only (m)", "至最近公园·仅出入口连接（米）"),
    "park_m_compounds": ("Walk to the nearest park, compound model (m)", "至最近公园·封闭小区模型（米）"),
    "added_walk_m": ("Walk added by the compound model (m)", "封闭小区模型增加的步行（米）"),
    "walls_walk_m": ("Walk added by walls (m)", "围墙增加的步行（米）"),
    "residents_losing_coverage": ("Residents losing coverage", "失去覆盖的居民"),
    "residents_gaining_coverage": ("Residents gaining coverage", "获得覆盖的居民"),
    "gate_id": ("Gate id", "出入口编号"),
    "source": ("Source", "来源"),
    # fairness
    "model": ("Model", "模型"),
    "plain": ("ordinary snapping", "普通模型"),
    "measure": ("Measure", "指标"),
    "mean": ("Mean", "均值"),
    "median": ("Median", "中位数"),
    "p90": ("90th percentile", "90分位"),
    "gini": ("Gini coefficient", "基尼系数"),
    "worst_residents": ("Residents in the worst decile", "最差10%居民数"),
    "worst_pct": ("Share in the worst decile (%)", "最差10%居民占比（%）"),
    "worst_share_of_all_pct": ("Share of all worst-off residents (%)", "占全域最差10%居民比例（%）"),
    "censored_pct": ("Beyond the cap (%)", "超出上限比例（%）"),
    "worst_threshold": ("Worst-decile threshold", "最差10%阈值"),
    "park_residents_pct": ("Residents within a park's walk (%)", "公园步行覆盖居民（%）"),
    "lifecircle_score_pct": ("Life-circle categories reached (%)", "生活圈设施类别可达（%）"),
    "lifecircle_complete_pct": ("Complete life circle (%)", "生活圈完整（%）"),
    "park_mean_m": ("Mean walk to a park (m)", "至公园平均步行距离（米）"),
    "park_gini": ("Gini of the walk to a park", "公园步行距离基尼系数"),
    "park_worst_pct": ("Residents in the worst decile (%)", "最差10%居民占比（%）"),
    "score": ("Score (0–100)", "得分（0–100）"),
    "mean_m": ("Mean distance (m)", "平均距离（米）"),
    "mean_min": ("Mean walking time (min)", "平均步行时间（分钟）"),
    "beyond_cap_pct": ("Beyond the cap (%)", "超出上限比例（%）"),
    "pop_share": ("Cumulative share of residents", "居民累计比例"),
    "value_share": ("Cumulative share of the value", "指标累计比例"),
    "counted_park": ("Park counted by the coverage rule", "计入覆盖率的公园"),
    "park_distance_m": ("Walk to the nearest park (m)", "至最近公园步行距离（米）"),
    # what-if
    "land_pct_before": ("Land covered before (%)", "方案前覆盖率（%）"),
    "residents_pct_before": ("Residents covered before (%)", "方案前居民覆盖率（%）"),
    "land_change_pp": ("Change, land (pp)", "用地覆盖率变化（百分点）"),
    "residents_change_pp": ("Change, residents (pp)", "居民覆盖率变化（百分点）"),
    "lost_land_m2": ("Land no longer covered (m²)", "不再覆盖的居住用地（㎡）"),
    "lost_residents": ("Residents no longer served", "不再服务的居民"),
    "covered_m2_before": ("Covered land before (m²)", "方案前覆盖用地（㎡）"),
    "covered_m2_after": ("Covered land after (m²)", "方案后覆盖用地（㎡）"),
    "covered_residents_before": ("Residents covered before", "方案前覆盖居民"),
    "covered_residents_after": ("Residents covered after", "方案后覆盖居民"),
    "dist_before": ("Walk before (m)", "方案前步行距离（米）"),
    "dist_after": ("Walk after (m)", "方案后步行距离（米）"),
    "status": ("Status", "状态"),
}


def register() -> None:
    """Add the labels that :mod:`geoplan.i18n` does not have yet (never overriding another analysis')."""
    try:
        from ..i18n import LABELS as existing
        from ..i18n import register_labels
    except ImportError:  # pragma: no cover
        return
    register_labels({k: v for k, v in LABELS.items() if k not in existing})
