-- One row per nationality code: users and their average age. A view over the additive totals in
-- int_nationality_age_totals (a few dozen rows), so it is always exact and costs nothing to keep.

{{ config(materialized='view') }}

with

totals as (

    select * from {{ ref('int_nationality_age_totals') }}

),

final as (

    select
        nationality,
        user_count,
        age_sum / nullif(aged_user_count, 0)::numeric as average_age,
        updated_at

    from totals

)

select * from final
