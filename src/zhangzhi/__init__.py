"""Zhangzhi (长制): an open platform for China's chief-responsibility systems."""
