"""A throwaway Wagtail site for the benchmark: one page type per way of showing a video."""
