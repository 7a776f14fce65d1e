from django.contrib import admin
from django.utils.html import format_html

from posts import services
from posts.models import Comment, Post, PostImage, Tag


def _thumbnail(image: PostImage | None, size: int) -> str:
    if image is None:
        return "—"
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="{}">',
        image.thumbnail.url,
        size,
        size,
        image.alt_text,
    )


class PostImageInline(admin.TabularInline):
    """Photos are shown, not replaced: uploads go through the app's image pipeline."""

    model = PostImage
    fields = ("preview", "order", "width", "height", "alt_text")
    readonly_fields = ("preview", "order", "width", "height")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Photo")
    def preview(self, image: PostImage) -> str:
        return _thumbnail(image, 120)


class CommentInline(admin.TabularInline):
    model = Comment
    fields = ("author", "text", "created")
    readonly_fields = ("author", "created")
    extra = 0


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("first_photo", "code", "author", "short_caption", "created")
    list_display_links = ("first_photo", "code")
    list_filter = ("created",)
    date_hierarchy = "created"
    search_fields = ("caption", "author__username", "code")
    readonly_fields = ("code", "author", "created", "updated")
    fields = ("code", "author", "caption", "created", "updated")
    inlines = [PostImageInline, CommentInline]
    list_select_related = ("author",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("images")

    @admin.display(description="Photo")
    def first_photo(self, post: Post) -> str:
        images = post.images.all()
        return _thumbnail(images[0] if images else None, 48)

    @admin.display(description="Caption")
    def short_caption(self, post: Post) -> str:
        return post.caption[:80]

    # Deleting here goes through the app's services, as the author's own delete does: the
    # activity entries about a post or comment go with it, and the badges they counted in.
    def delete_model(self, request, post: Post) -> None:
        services.post_delete(post=post)

    def delete_queryset(self, request, queryset) -> None:
        for post in queryset:
            services.post_delete(post=post)

    def save_formset(self, request, form, formset, change) -> None:
        instances = formset.save(commit=False)
        # Only comments can be deleted here (PostImageInline.can_delete is False).
        for comment in formset.deleted_objects:
            services.comment_delete(comment=comment)
        for instance in instances:
            instance.save()
        formset.save_m2m()


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("author", "post", "text", "created")
    list_filter = ("created",)
    search_fields = ("text", "author__username", "post__code")
    raw_id_fields = ("author", "post")
    date_hierarchy = "created"

    def delete_model(self, request, comment: Comment) -> None:
        services.comment_delete(comment=comment)

    def delete_queryset(self, request, queryset) -> None:
        for comment in queryset:
            services.comment_delete(comment=comment)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
